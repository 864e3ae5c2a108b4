/**
 * `random:N[:SEED]`: N examples of standard Gaussian noise in the model input's shape. Example i
 * depends only on (SEED, i) — a xoshiro128** generator seeded by splitmix32 from both, then
 * Box–Muller — so any batching reads the same values and the set is reproducible anywhere.
 */
import type { ModelInput } from './model-input.js';
import { fixedExampleShape } from './model-input.js';
import { elementsPerExample, probeHash, type ProbeSource } from './source.js';

function splitmix32(state: number): () => number {
  let s = state >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** xoshiro128** (Blackman & Vigna): uniform 32-bit integers. */
function xoshiro128(seedA: number, seedB: number): () => number {
  const mix = splitmix32((seedA ^ Math.imul(seedB, 0x27d4eb2d)) >>> 0);
  let [a, b, c, d] = [mix(), mix(), mix(), mix()];
  return () => {
    const result = Math.imul(rotl(Math.imul(b, 5) >>> 0, 7), 9) >>> 0;
    const t = (b << 9) >>> 0;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    return result;
  };
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** Fills `out` with N(0, 1) values for example `index` of the set seeded with `seed`. */
export function gaussianExample(seed: number, index: number, out: Float32Array): void {
  const next = xoshiro128(seed, index);
  // Uniform in (0, 1]: never 0, so the logarithm is finite.
  const uniform = () => (next() + 1) / 4294967296;
  for (let i = 0; i < out.length; i += 2) {
    const radius = Math.sqrt(-2 * Math.log(uniform()));
    const angle = 2 * Math.PI * uniform();
    out[i] = radius * Math.cos(angle);
    if (i + 1 < out.length) out[i + 1] = radius * Math.sin(angle);
  }
}

export function openRandomProbe(n: number, seed: number, input: ModelInput): ProbeSource {
  const spec = `random:${n}:${seed}`;
  const exampleShape = fixedExampleShape(spec, input);
  const perExample = elementsPerExample(exampleShape);
  return {
    spec,
    // The values depend on the shape they fill, so the shape is part of what is hashed.
    hash: probeHash()
      .update(`${spec}\nshape=${exampleShape.join('x')}\n`)
      .digest('hex'),
    n,
    exampleShape,
    notes: [],
    async read(start, count) {
      const out = new Float32Array(count * perExample);
      for (let k = 0; k < count; k++)
        gaussianExample(seed, start + k, out.subarray(k * perExample, (k + 1) * perExample));
      return out;
    },
    close: async () => undefined,
  };
}
