/**
 * The seeded generator behind shuffles and bootstrap draws: mulberry32 (public domain, 32-bit
 * state, period 2³²), chosen because it is a few lines in any language — the fixture script
 * reimplements it, so a seed means the same permutation and the same resamples everywhere.
 * Its stream is part of the result's provenance: do not change it without changing the seed's
 * meaning in stored results.
 */
export class Mulberry32 {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  nextUint32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1) >>> 0;
    t = (t ^ (t + (Math.imul(t ^ (t >>> 7), t | 61) >>> 0))) >>> 0;
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** An integer in [0, n): ⌊u · n⌋ with u = nextUint32 / 2³² (n < 2²¹ keeps it exact). */
  below(n: number): number {
    return Math.floor((this.nextUint32() * n) / 4294967296);
  }
}

/** A seeded permutation of 0..n−1 (Fisher–Yates from the last position down). */
export function seededPermutation(n: number, seed: number): Uint32Array {
  const rng = new Mulberry32(seed);
  const perm = new Uint32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.below(i + 1);
    const t = perm[i]!;
    perm[i] = perm[j]!;
    perm[j] = t;
  }
  return perm;
}

/**
 * Bootstrap resamples as multiplicities: column s of the result (row-major [n, samples]) counts how
 * often each example was drawn in sample s (n draws with replacement, samples drawn in order).
 */
export function bootstrapCounts(n: number, samples: number, seed: number): Float64Array {
  const rng = new Mulberry32(seed);
  const counts = new Float64Array(n * samples);
  for (let s = 0; s < samples; s++) {
    for (let d = 0; d < n; d++) counts[rng.below(n) * samples + s]! += 1;
  }
  return counts;
}
