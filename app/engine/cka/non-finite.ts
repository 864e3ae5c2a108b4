/**
 * NaN/±Inf detection per layer: counted while rows stream past (in the host, or in the model
 * runner when only Grams leave it), so a broken layer is named instead of silently poisoning
 * every similarity computed from it.
 */
export interface NonFiniteCount {
  nan: number;
  inf: number;
  /** Probe index of the first example with a NaN or ±Inf. */
  firstExample: number;
}

/** Two counts of the same layer, from consecutive parts of its rows, as one. */
export function mergeNonFinite(
  a: NonFiniteCount | undefined,
  b: NonFiniteCount | undefined,
): NonFiniteCount | undefined {
  if (!a || !b) return a ?? b;
  return { nan: a.nan + b.nan, inf: a.inf + b.inf, firstExample: Math.min(a.firstExample, b.firstExample) };
}

/**
 * True if every value is finite. A float64 sum of float32 values cannot overflow (|x| < 3.5e38,
 * far fewer than 1e270 of them), so it is finite exactly when no NaN or ±Inf is summed; four
 * independent accumulators let the CPU pipeline the additions (about 2× faster than a test per value).
 */
export function allFinite(data: Float32Array): boolean {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  const end = data.length - (data.length % 4);
  for (let i = 0; i < end; i += 4) {
    s0 += data[i]!;
    s1 += data[i + 1]!;
    s2 += data[i + 2]!;
    s3 += data[i + 3]!;
  }
  for (let i = end; i < data.length; i++) s0 += data[i]!;
  return Number.isFinite(s0 + s1 + s2 + s3);
}

/** Counts NaN and ±Inf in `data` (rows × features) and notes the first example that has one. */
export function scanNonFinite(
  data: Float32Array,
  features: number,
  rowOffset: number,
  into: NonFiniteCount | undefined,
): NonFiniteCount | undefined {
  if (allFinite(data)) return into;
  let count = into;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    // v - v is 0 for every finite v and NaN for NaN and ±Inf.
    if (v - v === 0) continue;
    count ??= { nan: 0, inf: 0, firstExample: rowOffset + Math.floor(i / features) };
    if (Number.isNaN(v)) count.nan++;
    else count.inf++;
  }
  return count;
}
