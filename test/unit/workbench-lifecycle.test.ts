/** The workbench's lazily opened database and experiment service: failed opens are retried, close() always closes everything. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createWorkbench } from '../../app/api/workbench.js';
import { CkaEngine } from '../../app/engine/similarity/index.js';
import { ExperimentService } from '../../app/engine/experiments/service.js';
import { Store } from '../../app/engine/store/store.js';
import { removeTempDataDirs, tempDataDir } from '../helpers/experiments.js';

afterEach(() => {
  vi.restoreAllMocks();
  removeTempDataDirs();
});

describe('workbench: lifecycle', () => {
  it('opens the database again after a failed open instead of repeating the old failure', async () => {
    // A file where the data directory should be: the first open fails, as a transient error would.
    const dataDir = join(tempDataDir('ckawb-wb-'), 'data');
    writeFileSync(dataDir, 'not a directory');
    const api = createWorkbench({ dataDir });
    try {
      await expect(api.listExperiments({})).rejects.toThrow();
      await expect(api.cancelRun({ runId: 'nope' })).rejects.toThrow();
      rmSync(dataDir);
      expect(await api.listExperiments({})).toEqual([]);
      await expect(api.cancelRun({ runId: 'nope' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    } finally {
      await api.close();
    }
  });

  it('closes the database even when stopping the experiment service throws', async () => {
    const api = createWorkbench({ dataDir: tempDataDir('ckawb-wb-') });
    await expect(api.cancelRun({ runId: 'nope' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    vi.spyOn(ExperimentService.prototype, 'close').mockRejectedValue(new Error('service close failed'));
    const storeClose = vi.spyOn(Store.prototype, 'close');
    await expect(api.close()).rejects.toThrow('service close failed');
    expect(storeClose).toHaveBeenCalledTimes(1);
    expect((storeClose.mock.contexts[0] as Store).db.open).toBe(false);
  });

  it('refuses a run asked for while the experiment service closes with CANCELLED', async () => {
    const store = await Store.open(tempDataDir('ckawb-wb-'));
    try {
      const experiment = store.history.createExperiment({ name: 'e', kind: 'self' });
      const service = new ExperimentService({ store, emit: () => undefined, app: { version: 'v', onnxruntime: 'o' } });
      await service.close();
      let error: unknown;
      try {
        service.enqueue(experiment.id);
      } catch (err) {
        error = err;
      }
      expect(error).toMatchObject({ code: 'CANCELLED', message: 'the workbench is closing' });
      expect(store.history.listRuns({ experimentId: experiment.id })).toEqual([]);
    } finally {
      store.close();
    }
  });

  it('a CKA engine replaced between runs that fails to stop is no unhandled rejection', async () => {
    const store = await Store.open(tempDataDir('ckawb-wb-'));
    const service = new ExperimentService({ store, emit: () => undefined, app: { version: 'v', onnxruntime: 'o' } });
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    // Patched by hand: vi.spyOn would observe the returned promise and so mark it handled.
    const close = Object.getOwnPropertyDescriptor(CkaEngine.prototype, 'close')!;
    let closed = 0;
    CkaEngine.prototype.close = () => {
      closed++;
      return Promise.reject(new Error('pool close failed'));
    };
    try {
      // A run with other threads than the last one replaces the engine (service.ts ckaEngine).
      const engineFor = (service as unknown as { ckaEngine(o: { threads: number }): CkaEngine }).ckaEngine.bind(
        service,
      );
      const first = engineFor({ threads: 1 });
      expect(engineFor({ threads: 2 })).not.toBe(first);
      expect(closed).toBe(1);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(unhandled).toEqual([]);
    } finally {
      Object.defineProperty(CkaEngine.prototype, 'close', close);
      process.off('unhandledRejection', onUnhandled);
      await service.close();
      store.close();
    }
  });
});
