/**
 * extractActivations, compareLayers and cancelJob through the API as the desktop app and the
 * server expose it (no trusted caller): only opened models and the app's own folders, progress as
 * job events, cancellation by job id, and the comparison equal to the CKA core on the same files.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JobProgress } from '../../app/common/contract.js';
import { createWorkbench, type Workbench } from '../../app/api/workbench.js';
import { fileSources, readFileSide } from '../../app/engine/activations/layer-files.js';
import { CkaEngine } from '../../app/engine/similarity/index.js';
import { removeTempDataDirs, tempDataDir } from '../helpers/experiments.js';
import { tinyCnn } from '../helpers/paths.js';

let api: Workbench;
let dataDir: string;
const events: JobProgress[] = [];
beforeAll(() => {
  dataDir = tempDataDir();
  api = createWorkbench({ dataDir, threads: 1 });
  api.subscribe((e) => e.type === 'job' && events.push(e.progress));
});
afterAll(async () => {
  await api?.close();
  removeTempDataDirs();
});

describe('one-off extraction and comparison through the API', () => {
  it('refuses models not opened and output folders outside the data directory', async () => {
    const outside = mkdtempSync(join(tmpdir(), 'ckawb-out-'));
    await expect(
      api.extractActivations({ model: tinyCnn, probe: 'random:8', out: join(dataDir, 'x') }),
    ).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await api.openModel({ path: tinyCnn });
    await expect(
      api.extractActivations({ model: tinyCnn, probe: 'random:8', out: join(outside, 'x') }),
    ).rejects.toMatchObject({ code: 'FORBIDDEN', message: expect.stringMatching(/writes only into its own folders/) });
    await expect(api.compareLayers({ a: outside, measures: ['linear'] })).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it('extracts into the data directory with progress, and compares the folder like the CKA core does', async () => {
    const out = join(dataDir, 'exports', 'tiny');
    const summary = await api.extractActivations({ model: tinyCnn, probe: 'random:30:2', out, jobId: 'extract-1' });
    expect(summary.probe.n).toBe(30);
    expect(summary.layers.length).toBeGreaterThan(1);
    const mine = events.filter((p) => p.jobId === 'extract-1');
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.at(-1)).toMatchObject({ stage: 'extract', done: 30, total: 30 });

    const result = await api.compareLayers({ a: out, measures: ['linear', 'debiased'], jobId: 'compare-1' });
    expect(result.sides).toHaveLength(1);
    expect(result.sides[0]).toMatchObject({ kind: 'extract', model: summary.model, probe: summary.probe });
    expect(result.matrices.map((m) => m.measure.name)).toEqual(['linear', 'debiased']);
    const cka = new CkaEngine({ threads: 1 });
    try {
      const side = await readFileSide(out);
      const expected = await cka.compare(fileSources(side.layers), null, [{ name: 'linear' }, { name: 'debiased' }]);
      expect(result.matrices.map((m) => m.matrix)).toEqual(expected.map((r) => r.matrix));
    } finally {
      await cka.close();
    }
    expect(events.some((p) => p.jobId === 'compare-1')).toBe(true);
  });

  it('cancels a running job by its id, and a job id is unique while it runs', async () => {
    const out = join(dataDir, 'exports', 'cancelled');
    const running = api.extractActivations({ model: tinyCnn, probe: 'random:4000', out, batchSize: 8, jobId: 'long' });
    await expect(
      api.extractActivations({ model: tinyCnn, probe: 'random:4', out, jobId: 'long' }),
    ).rejects.toMatchObject({
      code: 'BAD_INPUT',
    });
    await expect.poll(() => events.some((p) => p.jobId === 'long'), { timeout: 30_000, interval: 20 }).toBe(true);
    expect(await api.cancelJob({ jobId: 'long' })).toEqual({ cancelled: true });
    await expect(running).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(await api.cancelJob({ jobId: 'long' })).toEqual({ cancelled: false });
  });
});
