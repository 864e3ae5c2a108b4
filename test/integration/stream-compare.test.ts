/**
 * The streaming path of a one-off compare of two models: minibatch CKA fed straight from both
 * models' batches (their Grams computed in the model runners, or their rows when the measures ask
 * for two batch sizes), exact CKA from activations held in memory. Their matrices equal the cached
 * path's (the same layers extracted to the activation cache, then compared from the files) to
 * 1e-9. A minibatch run leaves no file in the cache; an exact run leaves the activations of layers
 * with p ≤ n and the Grams of the others, and a second run computes from those without extracting.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ComparisonResult, CompareRequest, JobProgress } from '../../app/common/contract.js';
import { ActivationEngine } from '../../app/engine/activations/engine.js';
import { readNpyHeader } from '../../app/engine/io/npy.js';
import { compareSides } from '../../app/engine/experiments/compare-sides.js';
import { CkaEngine } from '../../app/engine/similarity/index.js';
import { removeTempDataDirs, tempDataDir } from '../helpers/experiments.js';
import { fixturesDir, tinyCnn } from '../helpers/paths.js';

const bnCnn = join(fixturesDir, 'models', 'bn_cnn.onnx');
const probe = 'random:48:3';
const measures = ['minibatch:12', 'linear', 'debiased'];

let cka: CkaEngine;
let cacheDir: string;
beforeAll(() => {
  cka = new CkaEngine({ threads: 2 });
  cacheDir = join(tempDataDir(), 'activations');
});
afterAll(async () => {
  await cka?.close();
  removeTempDataDirs();
});

const compare = (
  request: Omit<CompareRequest, 'probe' | 'layers'>,
  onProgress?: (p: Omit<JobProgress, 'jobId'>) => void,
): Promise<ComparisonResult> =>
  compareSides(
    { probe, layers: 'all', ...request },
    {
      cka,
      activations: { cacheDir },
      app: { version: 'test', onnxruntime: 'test' },
      ...(onProgress ? { onProgress } : {}),
    },
  );

/** Every .npy file under the cache, walked from its root. */
function npyFiles(dir: string): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) =>
    e.isDirectory() ? npyFiles(join(dir, e.name)) : e.name.endsWith('.npy') ? [join(dir, e.name)] : [],
  );
}

function maxDifference(a: (number | null)[][], b: (number | null)[][]): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  a.forEach((row, i) =>
    row.forEach((v, j) => {
      const w = b[i]![j]!;
      expect(v === null).toBe(w === null);
      if (v !== null && w !== null) worst = Math.max(worst, Math.abs(v - w));
    }),
  );
  return worst;
}

describe('comparing two models straight from their extraction', () => {
  it('streams minibatch, linear and debiased CKA to the cached path’s numbers, keeping only what pays', async () => {
    // One batch size: the runners send the batches' Grams; two sizes: the rows come to the accumulators.
    const streamedMinibatch = await compare({ a: tinyCnn, b: bnCnn, measures: [measures[0]!] });
    const rowsStreamed = await compare({ a: tinyCnn, b: bnCnn, measures: [measures[0]!, 'minibatch:16'] });
    const selfStreamed = await compare({ a: tinyCnn, measures: [measures[0]!] });
    expect(npyFiles(cacheDir)).toEqual([]);

    const streamedExact = await compare({ a: tinyCnn, b: bnCnn, measures: measures.slice(1) });
    const layerCount = streamedExact.sides.reduce((a, s) => a + s.layers.length, 0);
    const gramFiles = npyFiles(cacheDir).filter((f) => f.endsWith('.gram.npy'));
    const activationFiles = npyFiles(cacheDir).filter((f) => !f.endsWith('.gram.npy'));
    expect(gramFiles.length).toBeGreaterThan(0);
    expect(activationFiles.length).toBeGreaterThan(0);
    expect(gramFiles.length + activationFiles.length).toBe(layerCount);
    for (const file of activationFiles) {
      const [rows, features] = (await readNpyHeader(file)).shape;
      expect(rows).toBe(48);
      expect(features).toBeLessThanOrEqual(48);
    }
    const stages: string[] = [];
    const rerunExact = await compare({ a: tinyCnn, b: bnCnn, measures: measures.slice(1) }, (p) =>
      stages.push(p.stage),
    );
    expect(stages).not.toContain('extract');
    expect(npyFiles(cacheDir)).toHaveLength(layerCount);

    // The cached path: every layer into the activation cache first, then compared from its files.
    const engine = new ActivationEngine({ cacheDir });
    try {
      for (const model of [tinyCnn, bnCnn]) await engine.cached({ model, probe, layers: 'all' });
    } finally {
      await engine.close();
    }
    const written = npyFiles(cacheDir).length;
    expect(written).toBe(2 * layerCount - activationFiles.length);
    const cached = await compare({ a: tinyCnn, b: bnCnn, measures });
    const selfCached = await compare({ a: tinyCnn, measures: [measures[0]!] });
    expect(npyFiles(cacheDir)).toHaveLength(written);

    const streamed = [...streamedMinibatch.matrices, ...streamedExact.matrices, ...rerunExact.matrices];
    expect(streamed.map((m) => m.measure.name)).toEqual(['minibatch', 'linear', 'debiased', 'linear', 'debiased']);
    streamed.forEach((m, i) => {
      const reference = cached.matrices[i < 3 ? i : i - 2]!;
      expect(m.rows.layers.map((l) => l.tensor)).toEqual(reference.rows.layers.map((l) => l.tensor));
      expect(m.cols.layers.map((l) => l.tensor)).toEqual(reference.cols.layers.map((l) => l.tensor));
      expect(m.matrix.flat().filter((v) => v !== null).length).toBeGreaterThan(4);
      expect(maxDifference(m.matrix, reference.matrix)).toBeLessThanOrEqual(1e-9);
    });
    expect(maxDifference(selfStreamed.matrices[0]!.matrix, selfCached.matrices[0]!.matrix)).toBeLessThanOrEqual(1e-9);
    expect(maxDifference(rowsStreamed.matrices[0]!.matrix, cached.matrices[0]!.matrix)).toBeLessThanOrEqual(1e-9);

    // Activations over a quarter of the budget are not held: they go to the cache, and the files are compared.
    const small = new CkaEngine({ threads: 2, memoryBudgetBytes: 16 * 2 ** 20 });
    const ownCache = join(tempDataDir(), 'activations');
    try {
      const fallback = await compareSides(
        { a: tinyCnn, b: bnCnn, probe, layers: 'all', measures: ['linear'] },
        { cka: small, activations: { cacheDir: ownCache }, app: { version: 'test', onnxruntime: 'test' } },
      );
      expect(maxDifference(fallback.matrices[0]!.matrix, cached.matrices[1]!.matrix)).toBeLessThanOrEqual(1e-9);
    } finally {
      await small.close();
    }
    expect(npyFiles(ownCache).filter((f) => f.endsWith('.gram.npy'))).toEqual([]);
    expect(npyFiles(ownCache)).toHaveLength(layerCount);
    expect(streamedExact.sides.map((s) => s.probe?.n)).toEqual([48, 48]);
  });

  it('stops both models when one fails or the job is cancelled, with that error', async () => {
    const nanModel = join(fixturesDir, 'models', 'nan_sqrt.onnx');
    await expect(compare({ a: tinyCnn, b: nanModel, measures: ['minibatch:8'] })).rejects.toThrow(
      /nan_sqrt\.onnx: layer 'sqrt' .* non-finite activations/,
    );
    const abort = new AbortController();
    const cancelled = compareSides(
      { a: tinyCnn, b: bnCnn, probe: 'random:2000:4', layers: 'all', measures: ['minibatch:8'] },
      {
        cka,
        activations: { cacheDir },
        app: { version: 'test', onnxruntime: 'test' },
        signal: abort.signal,
        onProgress: (p) => p.stage === 'extract' && p.done > 100 && abort.abort(),
      },
    );
    await expect(cancelled).rejects.toMatchObject({ code: 'CANCELLED' });
  });
});
