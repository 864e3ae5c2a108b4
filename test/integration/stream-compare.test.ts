/**
 * The streaming path of a one-off compare of two models: minibatch CKA fed straight from both
 * models' batches, exact CKA from activations held in memory. Their matrices equal the cached
 * path's (the same layers extracted to the activation cache, then compared from the files) to
 * 1e-9, and a streaming run leaves no activation file in the cache.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ComparisonResult, CompareRequest } from '../../app/common/contract.js';
import { ActivationEngine } from '../../app/engine/activations/engine.js';
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

const compare = (request: Omit<CompareRequest, 'probe' | 'layers'>): Promise<ComparisonResult> =>
  compareSides(
    { probe, layers: 'all', ...request },
    { cka, activations: { cacheDir }, app: { version: 'test', onnxruntime: 'test' } },
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
  it('streams minibatch, linear and debiased CKA to the cached path’s numbers, writing no activation file', async () => {
    const streamedMinibatch = await compare({ a: tinyCnn, b: bnCnn, measures: [measures[0]!] });
    const streamedExact = await compare({ a: tinyCnn, b: bnCnn, measures: measures.slice(1) });
    const selfStreamed = await compare({ a: tinyCnn, measures: [measures[0]!] });
    expect(npyFiles(cacheDir)).toEqual([]);

    // The cached path: every layer into the activation cache first, then compared from its files.
    const engine = new ActivationEngine({ cacheDir });
    try {
      for (const model of [tinyCnn, bnCnn]) await engine.cached({ model, probe, layers: 'all' });
    } finally {
      await engine.close();
    }
    const written = npyFiles(cacheDir).length;
    expect(written).toBe(streamedExact.sides.reduce((a, s) => a + s.layers.length, 0));
    const cached = await compare({ a: tinyCnn, b: bnCnn, measures });
    const selfCached = await compare({ a: tinyCnn, measures: [measures[0]!] });
    expect(npyFiles(cacheDir)).toHaveLength(written);

    const streamed = [...streamedMinibatch.matrices, ...streamedExact.matrices];
    expect(streamed.map((m) => m.measure.name)).toEqual(['minibatch', 'linear', 'debiased']);
    streamed.forEach((m, i) => {
      const reference = cached.matrices[i]!;
      expect(m.rows.layers.map((l) => l.tensor)).toEqual(reference.rows.layers.map((l) => l.tensor));
      expect(m.cols.layers.map((l) => l.tensor)).toEqual(reference.cols.layers.map((l) => l.tensor));
      expect(m.matrix.flat().filter((v) => v !== null).length).toBeGreaterThan(4);
      expect(maxDifference(m.matrix, reference.matrix)).toBeLessThanOrEqual(1e-9);
    });
    expect(maxDifference(selfStreamed.matrices[0]!.matrix, selfCached.matrices[0]!.matrix)).toBeLessThanOrEqual(1e-9);
    expect(streamedExact.sides.map((s) => s.probe?.n)).toEqual([48, 48]);
  });
});
