import { describe, expect, it } from 'vitest';
import { columnOf, diagonalMatchFraction, diagonalOf, rowMaxima, rowOf } from '../../renderer/src/lib/matrix-lines.js';
import { bestMatchPerRow } from '../../app/common/figures/best-match.js';

// 3 × 4, row-major; row 1 has a tie, row 2 is undefined throughout.
const values = Float64Array.from([0.2, 0.9, 0.1, 0.3, 0.5, 0.7, 0.7, NaN, NaN, NaN, NaN, NaN]);

describe('matrix lines', () => {
  it("finds each row's best match, first on ties, none for an undefined row", () => {
    expect([...bestMatchPerRow(values, 3, 4)]).toEqual([1, 1, -1]);
    expect([...rowMaxima(values, 3, 4)]).toEqual([0.9, 0.7, NaN]);
  });

  it('reads rows, columns and the diagonal', () => {
    expect([...rowOf(values, 4, 1)]).toEqual([0.5, 0.7, 0.7, NaN]);
    expect([...columnOf(values, 3, 4, 1)]).toEqual([0.9, 0.7, NaN]);
    expect([...diagonalOf(values, 3, 4)]).toEqual([0.2, 0.7, NaN]);
  });

  it('counts rows whose best match is on the diagonal, over rows that have one', () => {
    expect(diagonalMatchFraction(values, 3, 4)).toBe(0.5);
    expect(diagonalMatchFraction(Float64Array.from([NaN]), 1, 1)).toBeNull();
    expect(diagonalMatchFraction(Float64Array.from([1, 0.2, 0.1, 1]), 2, 2)).toBe(1);
  });
});
