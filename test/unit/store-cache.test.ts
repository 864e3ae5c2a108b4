/** The cache index: entries only once whole, LRU eviction that spares running runs' pins, the Gram store, the sweep. */
import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LayerGram } from '../../app/engine/similarity/index.js';
import { activationKey } from '../../app/engine/store/cache-index.js';
import { Store } from '../../app/engine/store/store.js';
import { removeTempDataDirs, tempDataDir } from '../helpers/experiments.js';

const spec = { name: 'e', kind: 'self' as const };
const stores: Store[] = [];
async function open(): Promise<{ store: Store; dir: string }> {
  const dir = tempDataDir('ckawb-cache-');
  const store = await Store.open(dir, { sweepMinAgeMs: 0 });
  stores.push(store);
  return { store, dir };
}
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
  removeTempDataDirs();
});

/** A file of `bytes` bytes registered as an activation entry used at `time`. */
function addFile(store: Store, dir: string, name: string, bytes: number, runId?: string) {
  const path = join(dir, 'activations', `${name}.npy`);
  mkdirSync(join(dir, 'activations'), { recursive: true });
  writeFileSync(path, Buffer.alloc(bytes));
  store.cache.add(
    [
      {
        key: activationKey('m', 'p', name),
        kind: 'activation',
        modelSha256: 'm',
        probeHash: 'p',
        tensor: name,
        path,
        bytes,
      },
    ],
    runId,
  );
  return path;
}

function gram(n: number, tensor: string): LayerGram {
  const packed = new Float64Array(new SharedArrayBuffer(((n * (n + 1)) / 2) * 8));
  packed.forEach((_, i) => (packed[i] = i / 7));
  return {
    layer: { tensor, name: tensor },
    n,
    features: 3,
    precision: 'float32',
    gram: packed,
    constant: false,
    nonFinite: null,
  };
}

describe('store: cache', () => {
  it('evicts least recently used entries down to the limit, never those a running run pinned', async () => {
    const { store, dir } = await open();
    const e = store.history.createExperiment(spec);
    const running = store.history.markRunning(store.history.createRun(e.id, 'r', spec).id);
    const ended = store.history.createRun(e.id, 'ended', spec);
    const a = addFile(store, dir, 'a', 100);
    const b = addFile(store, dir, 'b', 100, running.id);
    const c = addFile(store, dir, 'c', 100, ended.id); // pinned by a run that is not running: no protection
    await new Promise((resolve) => setTimeout(resolve, 5));
    const d = addFile(store, dir, 'd', 100);
    // Using c makes it the most recently used of the unpinned ones.
    await new Promise((resolve) => setTimeout(resolve, 5));
    store.cache.pinAndGet(ended.id, [activationKey('m', 'p', 'c')]);
    expect(store.cache.info()).toMatchObject({ bytes: 400, entries: 4, pinned: 1 });

    const removed = await store.cache.evict(250);
    expect(removed.map((r) => r.tensor)).toEqual(['a', 'd']);
    expect([a, b, c, d].map(existsSync)).toEqual([false, true, true, false]);
    const again = await store.cache.evict(0);
    expect(again.map((r) => r.tensor)).toEqual(['c']);
    expect(existsSync(b)).toBe(true);
    store.history.finishRun(running.id, 'done');
    expect((await store.cache.evict(0)).map((r) => r.tensor)).toEqual(['b']);
    expect(store.cache.info()).toMatchObject({ bytes: 0, entries: 0 });
  });

  it('limits by default to the smaller of 5 GiB and a tenth of the free space, until the user sets a limit', async () => {
    const dir = tempDataDir('ckawb-cache-');
    const openWith = async (free: number) => {
      const store = await Store.open(dir, { freeBytes: async () => free });
      stores.push(store);
      return store;
    };
    const small = await openWith(8 * 2 ** 30);
    expect(small.cache.info()).toMatchObject({ limitBytes: Math.floor(0.8 * 2 ** 30), limitIsSet: false });
    // What the cache holds counts as space it could use: the limit does not shrink as it fills.
    addFile(small, dir, 'a', 1000);
    small.close();
    expect((await openWith(10_000)).cache.limitBytes()).toBe(1100);
    const big = await openWith(2 ** 40);
    expect(big.cache.limitBytes()).toBe(5 * 2 ** 30);
    big.cache.setLimitBytes(12345);
    big.close();
    expect((await openWith(2 ** 40)).cache.info()).toMatchObject({ limitBytes: 12345, limitIsSet: true });
  });

  it('measures the disk again for the default limit while it stays open', async () => {
    const dir = tempDataDir('ckawb-cache-');
    let free = 8 * 2 ** 30;
    const store = await Store.open(dir, { freeBytes: async () => free });
    stores.push(store);
    expect(store.cache.limitBytes()).toBe(Math.floor(0.8 * 2 ** 30));
    free = 2 * 2 ** 30; // the disk filled up meanwhile
    await store.refreshDefaultLimit();
    expect(store.cache.limitBytes()).toBe(Math.floor(0.2 * 2 ** 30));
    store.cache.setLimitBytes(777); // a limit the user set stays
    free = 2 ** 40;
    await store.refreshDefaultLimit();
    expect(store.cache.limitBytes()).toBe(777);
  });

  it('spares what one-off work holds until it releases it, and drops holds of a process that died', async () => {
    const { store, dir } = await open();
    const a = addFile(store, dir, 'a', 100);
    const b = addFile(store, dir, 'b', 100);
    store.cache.hold('job:1', [activationKey('m', 'p', 'a')]);
    expect(store.cache.info().pinned).toBe(1);
    expect((await store.cache.evict(0)).map((r) => r.tensor)).toEqual(['b']);
    expect([a, b].map(existsSync)).toEqual([true, false]);
    store.cache.release('job:1');
    expect((await store.cache.evict(0)).map((r) => r.tensor)).toEqual(['a']);

    addFile(store, dir, 'c', 100);
    store.cache.hold('job:2', [activationKey('m', 'p', 'c')]);
    store.db.prepare('UPDATE cache_holds SET owner_pid = 2147483646, owner_token = ?').run('gone');
    store.cache.dropDeadHolds();
    expect(store.cache.info().pinned).toBe(0);
  });

  it('stores Grams under unique names, finds them only through the index, and drops damaged ones', async () => {
    const { store } = await open();
    const e = store.history.createExperiment(spec);
    const run = store.history.markRunning(store.history.createRun(e.id, 'r', spec).id);
    const id = {
      modelSha256: 'a'.repeat(64),
      probeHash: 'b'.repeat(64),
      tensor: '/x/Relu_output_0',
      precision: 'float32',
    };
    expect(store.grams.cached(run.id, [id])).toEqual([false]);
    const g = gram(5, id.tensor);
    await store.grams.save(run.id, [{ id, item: g }]);
    expect(store.grams.cached(run.id, [id])).toEqual([true]);
    const loaded = (await store.grams.load(run.id, id))!;
    expect(Array.from(loaded.gram)).toEqual(Array.from(g.gram));
    expect(loaded.layer).toEqual(g.layer);
    const first = store.cache.get(store.grams.key(id))!.path;

    // Saved again (another run computed it too): the old files go, the row points at the new ones.
    await store.grams.save(run.id, [{ id, item: g }]);
    const second = store.cache.get(store.grams.key(id))!.path;
    expect(second).not.toBe(first);
    expect(existsSync(first)).toBe(false);
    expect(existsSync(first.replace(/\.npy$/, '.json'))).toBe(false);

    // A damaged file is never used: the entry is dropped and the Gram is computed again.
    writeFileSync(second, 'garbage');
    expect(await store.grams.load(run.id, id)).toBeNull();
    expect(store.cache.get(store.grams.key(id))).toBeNull();
  });

  it('sweeps orphan Gram files and temp files of interrupted writes, but only old ones', async () => {
    const { store, dir } = await open();
    const grams = join(dir, 'grams', 'aa');
    mkdirSync(grams, { recursive: true });
    const orphan = join(grams, 'orphan.npy');
    const young = join(grams, 'young.npy');
    const temp = join(dir, 'activations', 'x', '.layer.npy.1234.tmp');
    const listed = join(dir, 'activations', 'x', 'layer.npy');
    mkdirSync(join(dir, 'activations', 'x'), { recursive: true });
    for (const f of [orphan, young, temp, listed]) writeFileSync(f, 'x');
    const old = (Date.now() - 3_600_000) / 1000;
    for (const f of [orphan, temp, listed]) utimesSync(f, old, old);
    const removed = await store.cache.sweep(store.dirs, 60_000);
    expect(removed.sort()).toEqual([orphan, temp].sort());
    // Young leftovers may belong to a live process; activation files without rows are the compare command's cache.
    expect(existsSync(young)).toBe(true);
    expect(existsSync(listed)).toBe(true);
  });

  it('sweeps when a store opens at most once per leftover age, whichever process opens it', async () => {
    const { store } = await open();
    const t = 1_000_000_000_000;
    expect(store.cache.sweepDue(600_000, t)).toBe(true);
    expect(store.cache.sweepDue(600_000, t + 1000)).toBe(false);
    expect(store.cache.sweepDue(600_000, t + 600_000)).toBe(true);
    expect(store.cache.sweepDue(0, t + 600_000)).toBe(true); // tests that sweep every open
    expect(store.cache.sweepDue(600_000, t - 5)).toBe(true); // a clock set back
    // and through Store.open: a second open within the age does not walk the cache again
    const dir = tempDataDir('ckawb-sweep-');
    const first = await Store.open(dir);
    stores.push(first);
    const orphan = join(dir, 'grams', 'aa', 'orphan.npy');
    mkdirSync(join(dir, 'grams', 'aa'), { recursive: true });
    writeFileSync(orphan, 'x');
    const old = (Date.now() - 3_600_000) / 1000;
    utimesSync(orphan, old, old);
    first.close();
    stores.push(await Store.open(dir));
    expect(existsSync(orphan)).toBe(true);
    stores.push(await Store.open(dir, { sweepMinAgeMs: 0 }));
    expect(existsSync(orphan)).toBe(false);
  });
});
