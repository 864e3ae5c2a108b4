/** Each row's best match in a row-major similarity grid (NaN = undefined). */

/** For each row, the column with the highest value (the first on ties); −1 when the row has none. */
export function bestMatchPerRow(values: Float64Array, rows: number, cols: number): Int32Array {
  const best = new Int32Array(rows).fill(-1);
  for (let r = 0; r < rows; r++) {
    let top = -Infinity;
    for (let c = 0; c < cols; c++) {
      const v = values[r * cols + c]!;
      if (v > top) {
        top = v;
        best[r] = c;
      }
    }
  }
  return best;
}
