/** The seeds summary on hand-made matrices: mean/std over ordered pairs, accuracy without the logits, ties and gaps. */
import { describe, expect, it } from 'vitest';
import type { SimilarityMatrix } from '../../app/common/contract.js';
import { transposeMatrix } from '../../app/engine/experiments/matrices.js';
import { pairAccuracy, seedsSummaries } from '../../app/engine/experiments/seeds.js';

const layers = ['conv1', 'conv2', 'conv3', 'logits'].map((t) => ({ tensor: t, name: t }));

function m(
  row: number,
  col: number,
  matrix: (number | null)[][],
  name: 'linear' | 'rbf' | 'pwcca' = 'linear',
): SimilarityMatrix {
  return {
    measure: name === 'rbf' ? { name, params: { threshold: 0.4 } } : { name, params: {} },
    n: 50,
    rows: { model: row, label: `s${row}`, layers },
    cols: { model: col, label: `s${col}`, layers },
    matrix,
    undefined: [],
  };
}

const layout = { layers: 4, excluded: new Set([3]) };

describe('seeds summary', () => {
  it('accuracy: best match among hidden layers is the same position; logits neither ask nor answer', () => {
    // Row 2's best overall is the logits column (0.99), which does not count as a candidate.
    const a = m(0, 1, [
      [0.9, 0.5, 0.1, 0.2],
      [0.6, 0.8, 0.3, 0.1],
      [0.2, 0.4, 0.7, 0.99],
      [0.1, 0.1, 0.9, 0.95],
    ]);
    expect(pairAccuracy(a, layout)).toBe(1);
    // A miss, a tie resolved to the first (a miss here) and a row with no numbers (a miss).
    const b = m(1, 0, [
      [0.5, 0.9, 0.1, 0],
      [0.8, 0.8, 0.3, 0],
      [null, null, null, 0.5],
      [0, 0, 0, 1],
    ]);
    expect(pairAccuracy(b, layout)).toBe(0);
    const c = m(0, 2, [
      [0.9, 0.1, 0.1, 0],
      [0.1, 0.1, 0.9, 0],
      [0.1, 0.2, 0.3, 0],
      [0, 0, 0, 1],
    ]);
    expect(pairAccuracy(c, layout)).toBeCloseTo(2 / 3, 12);
  });

  it('mean and sample std over the ordered pairs, per measure; self matrices are not pairs', () => {
    const x = [
      [1, 0.5, 0.25, 0],
      [0.5, 1, 0.5, 0],
      [0.25, 0.5, 1, 0],
      [0, 0, 0, 1],
    ];
    const y = x.map((row) => row.map((v) => v * 0.5));
    const matrices = [m(0, 1, x), transposeMatrix(m(0, 1, x)), m(0, 2, y), transposeMatrix(m(0, 2, y)), m(0, 0, x)];
    matrices.push(m(0, 1, x, 'rbf'), transposeMatrix(m(0, 1, x, 'rbf')));
    const [linear, rbf] = seedsSummaries(matrices, layout);
    expect(linear!.measure).toEqual({ name: 'linear', params: {} });
    expect(linear!.accuracyPerPair.map((p) => [p.rowModel, p.colModel])).toEqual([
      [0, 1],
      [1, 0],
      [0, 2],
      [2, 0],
    ]);
    // Cell (0, 1): values 0.5, 0.5, 0.25, 0.25 → mean 0.375, sample std sqrt(4·0.125²/3).
    expect(linear!.mean[0]![1]).toBeCloseTo(0.375, 15);
    expect(linear!.std[0]![1]).toBeCloseTo(Math.sqrt((4 * 0.125 ** 2) / 3), 15);
    expect(linear!.accuracy).toBe(1);
    expect(rbf!.measure).toEqual({ name: 'rbf', params: { threshold: 0.4 } });
    expect(rbf!.accuracyPerPair).toHaveLength(2);
    expect(rbf!.std[2]![2]).toBe(0);
  });

  it('leaves a cell undefined when no pair defines it, and the std when only one does', () => {
    const a = m(0, 1, [
      [null, 1, 1, 1],
      [1, 1, 1, 1],
      [1, 1, 1, 1],
      [1, 1, 1, 1],
    ]);
    const b = m(1, 0, [
      [null, null, 1, 1],
      [1, 1, 1, 1],
      [1, 1, 1, 1],
      [1, 1, 1, 1],
    ]);
    const [s] = seedsSummaries([a, b], layout);
    expect(s!.mean[0]![0]).toBeNull();
    expect(s!.std[0]![0]).toBeNull();
    expect(s!.mean[0]![1]).toBe(1);
    expect(s!.std[0]![1]).toBeNull();
  });

  it('asymmetric measures: accuracy of m(Aᵢ, Bⱼ) + m(Bⱼ, Aᵢ), the mean of m itself, reasons of empty cells', () => {
    // Alone, (0, 1) matches row 0 to column 1; the other direction's evidence overturns it.
    const forward = m(
      0,
      1,
      [
        [0.5, 0.6, 0.1, 0],
        [0.1, 0.9, 0.1, 0],
        [0.1, 0.1, 0.9, 0],
        [0, 0, 0, 1],
      ],
      'pwcca',
    );
    const backward = m(
      1,
      0,
      [
        [0.9, 0.1, 0.1, 0],
        [0.2, 0.9, 0.1, 0],
        [0.1, 0.1, 0.9, 0],
        [0, 0, 0, 1],
      ],
      'pwcca',
    );
    expect(pairAccuracy(forward, layout)).toBeCloseTo(2 / 3, 12);
    // forward + backwardᵀ: row 0 → 1.4 (itself) vs 0.8; rows 1, 2 → themselves
    const [whole] = seedsSummaries([forward, backward], layout);
    expect(whole!.accuracy).toBe(1);
    const reason = "too-few-examples: X (layer 'conv3') has p = 900 live features ≥ n = 50 examples";
    for (const x of [forward, backward]) {
      x.matrix[2]![2] = null;
      x.undefined = [{ row: 2, col: 2, reason }];
    }
    const [summary] = seedsSummaries([forward, backward], layout);
    expect(summary!.symmetrised).toBe(true);
    // row 2's own cell is undefined now: a miss in both directions
    expect(summary!.accuracyPerPair).toEqual([
      { rowModel: 0, colModel: 1, accuracy: 2 / 3 },
      { rowModel: 1, colModel: 0, accuracy: 2 / 3 },
    ]);
    expect(summary!.mean[0]![1]).toBeCloseTo((0.6 + 0.1) / 2, 12);
    expect(summary!.undefined).toEqual([{ row: 2, col: 2, reason }]);
  });
});
