/**
 * The cache the user can see and bound. Through the CLI: a one-off compare of a model fills the
 * data directory's cache, and `cache info --json` counts exactly the files on disk (walked here
 * independently); `cache clear` removes them; `cache limit` reads sizes with units and persists.
 * In the engine: a compare registers its activations in the index and holds them while it runs
 * (an eviction to zero in the middle of it spares them), warns past half the limit, and refuses
 * writes over the limit before extracting anything.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, sep } from 'node:path';
import type { CompareRequest } from '../../app/common/contract.js';
import { compareSides } from '../../app/engine/experiments/compare-sides.js';
import { CkaEngine } from '../../app/engine/similarity/index.js';
import { Store } from '../../app/engine/store/store.js';
import { cli, removeTempDataDirs, tempDataDir } from '../helpers/experiments.js';
import { tinyCnn } from '../helpers/paths.js';

afterAll(() => removeTempDataDirs());

/** Every .npy under `dir` with its size (the cache's files, as the file system sees them). */
function npyFiles(dir: string): { path: string; bytes: number }[] {
  let items;
  try {
    items = readdirSync(dir, { withFileTypes: true, recursive: true });
  } catch {
    return [];
  }
  return items
    .filter((d) => d.isFile() && d.name.endsWith('.npy'))
    .map((d) => {
      const path = join(d.parentPath, d.name);
      return { path, bytes: statSync(path).size };
    });
}

describe('cache commands', () => {
  it('counts what a compare of a model wrote, clears it, and keeps the limit it was given', async () => {
    const dataDir = tempDataDir('ckawb-cache-cli-');
    const env = { CKA_WORKBENCH_DATA_DIR: dataDir };
    const compared = await cli(['compare', tinyCnn, '--probe', 'random:48', '--layers', 'all'], { env });
    expect(compared.stderr).toBe('');
    expect(compared.code).toBe(0);

    const info = JSON.parse((await cli(['cache', 'info', '--json'], { env })).stdout) as Record<string, unknown>;
    const files = npyFiles(join(dataDir, 'activations'));
    expect(files.length).toBeGreaterThan(1);
    const sum = (list: { bytes: number }[]) => list.reduce((total, f) => total + f.bytes, 0);
    const onDisk = sum(files);
    // The compare streamed linear CKA: layers with more features than the 48 examples keep only
    // their Gram (in the model's grams/ folder), the others their activations.
    const grams = files.filter((f) => f.path.includes(`${sep}grams${sep}`));
    const activations = files.filter((f) => !grams.includes(f));
    expect(grams.length).toBeGreaterThan(0);
    expect(activations.length).toBeGreaterThan(0);
    expect(Object.keys(info).slice(0, 4)).toEqual(['bytes', 'entries', 'limit', 'byKind']);
    expect(info).toMatchObject({
      bytes: onDisk,
      entries: files.length,
      byKind: {
        activation: { entries: activations.length, bytes: sum(activations) },
        gram: { entries: grams.length, bytes: sum(grams) },
        factors: { entries: 0, bytes: 0 },
      },
      byModel: [{ name: 'tiny_cnn.onnx', entries: files.length, bytes: onDisk }],
      pinned: 0,
      limitIsSet: false,
    });
    expect(info.limit).toBeGreaterThan(0);
    expect(info.limit).toBeLessThanOrEqual(5 * 2 ** 30);

    const human = await cli(['cache', 'info', '--data-dir', dataDir]);
    expect(human.stdout).toMatch(/^size: {2}[\d.]+ [KM]iB in \d+ entries$/m);
    expect(human.stdout).toMatch(/^tiny_cnn\.onnx {2}[0-9a-f]{12} {2}\d+ +[\d.]+ [KM]iB$/m);

    const cleared = await cli(['cache', 'clear'], { env });
    expect(cleared.stdout.trim()).toMatch(new RegExp(`^freed [\\d.]+ [KM]iB \\(${files.length} entries\\)$`));
    expect(npyFiles(join(dataDir, 'activations'))).toEqual([]);
    const after = JSON.parse((await cli(['cache', 'info', '--json', '--data-dir', dataDir])).stdout) as object;
    expect(after).toMatchObject({ bytes: 0, entries: 0, byModel: [] });

    expect((await cli(['cache', 'limit', '500MB', '--data-dir', dataDir])).stdout).toMatch(/^cache limit 477 MiB;/);
    const limited = JSON.parse((await cli(['cache', 'info', '--json'], { env })).stdout) as object;
    expect(limited).toMatchObject({ limit: 500_000_000, limitIsSet: true });
    const reset = await cli(['cache', 'limit', 'default', '--data-dir', dataDir]);
    expect(reset.stdout).toMatch(/^cache limit [\d.]+ [KMG]iB \(the default\);/);
    const bad = await cli(['cache', 'limit', 'lots', '--data-dir', dataDir]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(
      /^cka-workbench: error: cache limit must be a number with a unit: 500MB, 2GiB.*, got 'lots'\n$/,
    );
  });
});

describe('a one-off compare in the cache', () => {
  it('registers and holds its activations while it runs, warns past half the limit, and refuses more than the limit', async () => {
    const dataDir = tempDataDir('ckawb-cache-compare-');
    const store = await Store.open(dataDir, { cacheLimitBytes: 2 ** 30 });
    const cka = new CkaEngine({ threads: 1 });
    const app = { version: 'test', onnxruntime: 'test' };
    const compare = (probe: string, onProgress?: () => void) =>
      // Procrustes works on features: the model's activations go through the cache (streamed
      // CKA keeps less, and its files are registered after the stream: stream-compare.test.ts).
      compareSides({ a: tinyCnn, probe, layers: 'all', measures: ['procrustes'] } as CompareRequest, {
        cka,
        activations: { cacheDir: store.dirs.activations },
        app,
        cacheIndex: async () => store.cache,
        ...(onProgress ? { onProgress } : {}),
      });
    try {
      // Past extraction, evict everything: what the compare holds stays (rows and files).
      let during: ReturnType<typeof store.cache.info> | null = null;
      let evicting: Promise<unknown> | null = null;
      const result = await compare('random:40', () => {
        if (during || store.cache.info().entries === 0) return;
        evicting = store.cache.evict(0); // its transaction runs now, synchronously
        during = store.cache.info();
      });
      await evicting;
      const layers = result.sides[0]!.layers.length;
      expect(layers).toBeGreaterThan(1);
      expect(during).toMatchObject({ entries: layers, pinned: layers });
      const files = npyFiles(store.dirs.activations);
      expect(files).toHaveLength(layers);
      const written = files.reduce((sum, f) => sum + f.bytes, 0);
      expect(store.cache.info()).toMatchObject({ bytes: written, entries: layers, pinned: 0 });
      expect(result.notes).toBeUndefined();

      // Held no more: an eviction now removes them.
      expect(await store.cache.evict(0)).toHaveLength(layers);
      expect(npyFiles(store.dirs.activations)).toEqual([]);

      // Over half the limit: a warning in the result. Over the limit: refused, nothing written.
      store.cache.setLimitBytes(Math.floor(written * 1.5));
      const warned = await compare('random:40');
      expect(warned.notes).toEqual([
        expect.stringMatching(
          /^this will write about [\d.]+ [KM]iB to the workbench's cache \(activations of \d+ layers × 40 examples, .*\), more than half the cache limit of [\d.]+ [KM]iB/,
        ),
      ]);
      store.cache.setLimitBytes(Math.floor(written / 2));
      const before = new Set(npyFiles(store.dirs.activations).map((f) => f.path));
      await expect(compare('random:41')).rejects.toMatchObject({
        code: 'DISK_FULL',
        message: expect.stringMatching(
          /^this would write about [\d.]+ [KM]iB to the workbench's cache \(activations of \d+ layers × 41 examples, .*\), more than the cache limit of [\d.]+ [KM]iB; raise the cache limit, or use fewer examples or layers or a 'mean' reduction$/,
        ),
      });
      // Nothing of random:41 was written; random:40's entries were evicted down to the new limit.
      const left = npyFiles(store.dirs.activations);
      expect(left.every((f) => before.has(f.path))).toBe(true);
      expect(left.reduce((sum, f) => sum + f.bytes, 0)).toBeLessThanOrEqual(written / 2);
      expect(store.cache.info().pinned).toBe(0);
    } finally {
      await cka.close();
      store.close();
    }
  });

  it('holds what a streamed compare found in the cache before it reads it, while the rest is extracted', async () => {
    const dataDir = tempDataDir('ckawb-cache-stream-');
    const store = await Store.open(dataDir, { cacheLimitBytes: 2 ** 30 });
    const cka = new CkaEngine({ threads: 1 });
    const compare = (layers: string, onProgress?: (p: { stage: string }) => void) =>
      compareSides({ a: tinyCnn, probe: 'random:40', layers, measures: ['linear'] } as CompareRequest, {
        cka,
        activations: { cacheDir: store.dirs.activations },
        app: { version: 'test', onnxruntime: 'test' },
        cacheIndex: async () => store.cache,
        ...(onProgress ? { onProgress } : {}),
      });
    try {
      const first = await compare('op:Relu');
      const kept = npyFiles(store.dirs.activations);
      expect(kept.length).toBeGreaterThan(0);
      expect(store.cache.info()).toMatchObject({ entries: kept.length, pinned: 0 });
      // The same model on every layer: the ReLUs come from the cache, the rest is extracted. While
      // it is, empty the cache: what the compare found is held, so it survives and is read.
      let evicting: Promise<unknown> | null = null;
      const all = await compare('all', (p) => {
        if (p.stage === 'extract') evicting ??= store.cache.evict(0);
      });
      expect(evicting).not.toBeNull();
      await evicting;
      expect(kept.every((f) => existsSync(f.path))).toBe(true);
      const relus = first.matrices[0]!.rows.layers.map((l) => l.tensor);
      const rows = all.matrices[0]!.rows.layers.map((l) => l.tensor);
      // The ReLU block of the whole matrix is the first compare's matrix.
      const at = relus.map((t) => rows.indexOf(t));
      expect(at.every((i) => i >= 0)).toBe(true);
      const block = at.map((i) => at.map((j) => all.matrices[0]!.matrix[i]![j]));
      expect(block).toEqual(first.matrices[0]!.matrix);
      expect(store.cache.info().pinned).toBe(0);
    } finally {
      await cka.close();
      store.close();
    }
  });
});
