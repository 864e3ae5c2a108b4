/** The history in SQLite: experiments, runs and their states, results written piece by piece, crash recovery. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { spawnSync } from 'node:child_process';
import Database from 'better-sqlite3';
import { readdirSync, readlinkSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import type { SimilarityMatrix } from '../../app/common/contract.js';
import { CacheIndex } from '../../app/engine/store/cache-index.js';
import { openDatabase, SCHEMA_VERSION } from '../../app/engine/store/database.js';
import { HistoryStore } from '../../app/engine/store/history.js';
import { THIS_PROCESS, ownerAlive } from '../../app/engine/store/owner.js';
import { Store } from '../../app/engine/store/store.js';
import { removeTempDataDirs, tempDataDir } from '../helpers/experiments.js';

const spec = {
  name: 'e',
  kind: 'self' as const,
  models: [{ path: '/m.onnx' }],
  probe: 'random:10',
  layers: 'all',
  measures: ['linear'],
};

const stores: Store[] = [];
async function open(dir = tempDataDir('ckawb-store-')): Promise<Store> {
  const store = await Store.open(dir);
  stores.push(store);
  return store;
}
afterEach(() => {
  vi.restoreAllMocks();
  for (const s of stores.splice(0)) s.close();
  removeTempDataDirs();
});

function matrix(value: number, model = 0): SimilarityMatrix {
  return {
    measure: { name: 'linear', params: {} },
    n: 10,
    rows: { model, label: 'm', layers: [{ tensor: 't', name: 't' }] },
    cols: { model, label: 'm', layers: [{ tensor: 't', name: 't' }] },
    matrix: [[value]],
    undefined: [],
  };
}

/** Descriptors of this process open on `file` (Linux: /proc/self/fd). */
function openDescriptors(file: string): number {
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === file;
    } catch {
      return false;
    }
  }).length;
}

/** A pid that surely belongs to no process: one that just exited. */
function deadPid(): number {
  return Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString());
}

describe('store: history', () => {
  it('creates the schema in WAL mode and refuses a database from a newer version', async () => {
    const dir = tempDataDir('ckawb-store-');
    const store = await open(dir);
    expect(store.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(store.db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    store.close();
    const raw = new Database(join(dir, 'workbench.db'));
    raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    expect(() => openDatabase(join(dir, 'workbench.db'))).toThrow(/written by a newer CKA Workbench/);
  });

  it('keeps experiments and runs with their states and reasons', async () => {
    const store = await open();
    const h = store.history;
    const e = h.createExperiment(spec);
    const run = h.createRun(e.id, 'first', spec);
    expect(run).toMatchObject({ status: 'queued', name: 'first', kind: 'self', experimentId: e.id });
    expect(h.markRunning(run.id).status).toBe('running');
    expect(() => h.deleteRun(run.id)).toThrow(/is queued or running: cancel it first/);
    expect(() => h.deleteExperiment(e.id)).toThrow(/has a run that is queued or running/);
    const failed = h.finishRun(run.id, 'failed', { code: 'RUNTIME', message: 'onnxruntime failed' });
    expect(failed).toMatchObject({ status: 'failed', error: { code: 'RUNTIME', message: 'onnxruntime failed' } });
    expect(failed.finishedAt).toBeDefined();
    expect(h.renameRun(run.id, 'renamed').name).toBe('renamed');
    expect(h.listRuns({ experimentId: e.id, status: ['failed'] }).map((r) => r.id)).toEqual([run.id]);
    expect(h.listRuns({ status: ['done'] })).toEqual([]);
    expect(h.updateExperiment(e.id, { ...spec, name: 'changed' }).name).toBe('changed');
    expect(h.deleteExperiment(e.id)).toBe(1);
    expect(h.findRun(run.id)).toBeNull();
    expect(() => h.experiment(e.id)).toThrow(/no experiment with id/);
  });

  it('writes a result as it grows: header, matrices one transaction each, end', async () => {
    const store = await open();
    const h = store.history;
    const e = h.createExperiment(spec);
    const run = h.markRunning(h.createRun(e.id, 'r', spec).id);
    expect(h.resultParts(run.id)).toBeNull();
    h.writeResultHeader(run.id, { models: [], probe: { spec: 'random:10', hash: 'h', n: 10 }, excludedLayers: [2] });
    h.appendMatrices(run.id, 0, [matrix(0.5), matrix(0.25)]);
    h.appendMatrices(run.id, 2, [matrix(0.125)]);
    let parts = h.resultParts(run.id)!;
    expect(parts.partial).toBe(true);
    expect(parts.excludedLayers).toEqual([2]);
    expect(parts.matrices.map((m) => m.matrix[0]![0])).toEqual([0.5, 0.25, 0.125]);
    h.appendMatrices(run.id, 3, [matrix(1), matrix(2)]);
    h.appendMatrices(run.id, 6, [matrix(9)]);
    // A batch that fails part-way (its second number, 6, is taken) leaves none of its matrices behind.
    expect(() => h.appendMatrices(run.id, 5, [matrix(7), matrix(8)])).toThrow();
    expect(h.resultParts(run.id)!.matrices.map((m) => m.matrix[0]![0])).toEqual([0.5, 0.25, 0.125, 1, 2, 9]);
    h.finishResult(run.id, {
      partial: false,
      seeds: null,
      provenance: { appVersion: 'v', onnxruntime: 'o', startedAt: 's', finishedAt: 'f', timingsMs: { total: 1 } },
    });
    parts = h.resultParts(run.id)!;
    expect(parts.partial).toBe(false);
    expect(parts.provenance!.timingsMs).toEqual({ total: 1 });
  });

  it('a run of the same inputs copies a whole result, and writes nothing when that run went meanwhile', async () => {
    const store = await open();
    const h = store.history;
    const provenance = { appVersion: 'v', onnxruntime: 'o', startedAt: 's', finishedAt: 'f', timingsMs: {} };
    const finished = (name: string, partial: boolean) => {
      const run = h.markRunning(h.createRun(h.createExperiment(spec).id, name, spec).id);
      h.writeResultHeader(run.id, { models: [], probe: { spec: 'random:10', hash: 'h', n: 10 } });
      h.appendMatrices(run.id, 0, [matrix(0.5), matrix(0.25)]);
      h.finishResult(run.id, { partial, seeds: null, provenance });
      h.finishRun(run.id, 'done');
      h.recordInputKey(run.id, `key-${name}`);
      return h.run(run.id);
    };
    const whole = finished('whole', false);
    finished('partial', true);
    expect(h.sameInputsRun('key-partial')).toBeNull();
    expect(h.sameInputsRun('key-whole')!.id).toBe(whole.id);

    const again = h.repeatRun(whole, 'key-whole', { ...spec, name: 'again' }, (p) => ({ ...p!, repeatOf: whole.id }))!;
    expect(again).toMatchObject({ status: 'done', name: 'again' });
    expect(h.resultParts(again.id)).toEqual({
      ...h.resultParts(whole.id)!,
      provenance: { ...provenance, repeatOf: whole.id },
    });
    expect(h.sameInputsRun('key-whole')!.id).toBe(again.id); // the newest

    const counts = () =>
      store.db.prepare('SELECT (SELECT COUNT(*) FROM runs) AS r, (SELECT COUNT(*) FROM experiments) AS e').get() as {
        r: number;
        e: number;
      };
    const before = counts();
    h.deleteRun(whole.id);
    expect(h.repeatRun(whole, 'key-whole', { ...spec, name: 'late' }, (p) => p!)).toBeNull();
    expect(h.repeatRun(again, 'key-other', { ...spec, name: 'late' }, (p) => p!)).toBeNull();
    expect(counts()).toEqual({ r: before.r - 1, e: before.e });
    // Clearing the cache forgets which runs had which inputs: everything is computed again.
    h.forgetInputKeys();
    expect(h.sameInputsRun('key-whole')).toBeNull();
  });

  it('on open, runs of a dead process become interrupted with the reason; live owners are left alone', async () => {
    const dir = tempDataDir('ckawb-store-');
    const store = await open(dir);
    const h = store.history;
    const e = h.createExperiment(spec);
    const dead = h.markRunning(h.createRun(e.id, 'killed', spec).id);
    const queuedDead = h.createRun(e.id, 'queued then killed', spec);
    const ours = h.markRunning(h.createRun(e.id, 'ours', spec).id);
    const pid = deadPid();
    store.db
      .prepare(`UPDATE runs SET owner_pid = ?, owner_token = 'gone', progress_json = ? WHERE id IN (?, ?)`)
      .run(
        pid,
        JSON.stringify({ runId: dead.id, stage: 'kernels', message: '', fraction: 0.4 }),
        dead.id,
        queuedDead.id,
      );
    store.cache.pinAndGet(dead.id, ['gram:x']);
    store.close();

    const reopened = await open(dir);
    expect(reopened.recovered.map((r) => r.name).sort()).toEqual(['killed', 'queued then killed']);
    const killed = reopened.history.run(dead.id);
    expect(killed.status).toBe('interrupted');
    // The same code as a run interrupted by closing the app (service.ts).
    expect(killed.error).toEqual({
      code: 'CANCELLED',
      message: `interrupted: the process running it (pid ${pid}) stopped while computing Grams; no pair of models was finished`,
    });
    expect(reopened.history.run(queuedDead.id).error!.message).toMatch(/stopped before it started/);
    expect(reopened.history.run(ours.id).status).toBe('running');
    expect(reopened.db.prepare('SELECT COUNT(*) AS n FROM cache_pins').get()).toEqual({ n: 0 });
  });

  it('a database locked past the busy timeout while opening is TIMEOUT, with the file named', () => {
    const file = join(tempDataDir('ckawb-store-'), 'workbench.db');
    // What better-sqlite3 throws when another process holds the lock longer than the busy timeout.
    vi.spyOn(Database.prototype, 'pragma').mockImplementationOnce(() => {
      throw new Database.SqliteError('database is locked', 'SQLITE_BUSY');
    });
    let error: unknown;
    try {
      openDatabase(file);
    } catch (err) {
      error = err;
    }
    expect(error).toMatchObject({
      code: 'TIMEOUT',
      message: `cannot open the workbench database ${file}: the workbench database stayed locked by another process (a second workbench or a script) for too long`,
    });
    // Other SQLite errors stay INTERNAL, with SQLite's own words.
    vi.spyOn(Database.prototype, 'pragma').mockImplementationOnce(() => {
      throw new Database.SqliteError('disk I/O error', 'SQLITE_IOERR');
    });
    expect(() => openDatabase(file)).toThrow(
      expect.objectContaining({
        code: 'INTERNAL',
        message: `cannot open the workbench database ${file}: disk I/O error`,
      }),
    );
  });

  it.runIf(process.platform === 'linux')(
    'closes the database again when recovery or the sweep fails on open',
    async () => {
      const dir = tempDataDir('ckawb-store-');
      const file = join(realpathSync(dir), 'workbench.db');
      (await open(dir)).close();
      const recover = vi.spyOn(HistoryStore.prototype, 'recoverInterrupted').mockImplementationOnce(() => {
        throw new Error('recovery failed');
      });
      await expect(Store.open(dir)).rejects.toThrow('recovery failed');
      expect(recover).toHaveBeenCalledTimes(1);
      expect(openDescriptors(file)).toBe(0);
      vi.spyOn(CacheIndex.prototype, 'sweep').mockRejectedValueOnce(new Error('sweep failed'));
      // a sweep due at this open (the first open swept, and sweeps are spaced by the leftover age)
      await expect(Store.open(dir, { sweepMinAgeMs: 0 })).rejects.toThrow('sweep failed');
      expect(openDescriptors(file)).toBe(0);
      const store = await open(dir);
      expect(openDescriptors(file)).toBe(1);
      store.close();
      expect(openDescriptors(file)).toBe(0);
    },
  );

  it('tells live owners from dead ones', () => {
    expect(ownerAlive(THIS_PROCESS)).toBe(true);
    expect(ownerAlive({ ...THIS_PROCESS, token: 'other', pid: process.ppid })).toBe(true);
    expect(ownerAlive({ ...THIS_PROCESS, token: 'other', pid: deadPid() })).toBe(false);
    expect(ownerAlive({ ...THIS_PROCESS, token: 'other' })).toBe(false); // our pid, an earlier process
    expect(ownerAlive({ host: 'elsewhere', pid: 1, token: 'x' })).toBe(true);
    expect(ownerAlive({ host: null, pid: null, token: null })).toBe(false);
  });
});
