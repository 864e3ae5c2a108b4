/**
 * Which wide layers an experiment run has its runners make Grams of (experiments/model-needs.ts):
 * layers wider than their rows (with n ≥ 4), whose rows fit in the runner's room, taken in order.
 */
import { describe, expect, it } from 'vitest';
import { isRunnerGram, runnerGramRoom, runnerGrams } from '../../app/engine/experiments/model-needs.js';
import { MAX_IN_MEMORY_BYTES } from '../../app/engine/experiments/stream-exact.js';

describe('Grams made in the runner', () => {
  it('are for layers wider than their rows, on at least 4 rows', () => {
    expect(isRunnerGram({ rows: 100, features: 101 })).toBe(true);
    expect(isRunnerGram({ rows: 100, features: 100 })).toBe(false); // p = n: its activations are no larger
    expect(isRunnerGram({ rows: 3, features: 1000 })).toBe(false);
    expect(isRunnerGram({ rows: 4, features: 5 })).toBe(true);
  });

  it('take layers in order while their rows fit, leaving a layer too large for what is left to the files', () => {
    const layers = [
      { rows: 10, features: 100 }, // 4000 bytes
      { rows: 10, features: 500 }, // 20,000
      { rows: 10, features: 200 }, // 8000
      { rows: 10, features: 50 }, // 2000
    ];
    expect(runnerGrams(layers, [0, 1, 2, 3], 1e9)).toEqual([0, 1, 2, 3]);
    expect(runnerGrams(layers, [0, 1, 2, 3], 14_000)).toEqual([0, 2, 3]);
    expect(runnerGrams(layers, [0, 1, 2, 3], 12_000)).toEqual([0, 2]);
    expect(runnerGrams(layers, [1, 3], 20_000)).toEqual([1]);
    expect(runnerGrams(layers, [], 1e9)).toEqual([]);
    expect(runnerGrams(layers, [0], 3999)).toEqual([]);
  });

  it('have a quarter of the CKA budget, at most 1 GiB', () => {
    expect(runnerGramRoom(2 ** 30)).toBe(2 ** 28);
    expect(runnerGramRoom(16 * 2 ** 30)).toBe(MAX_IN_MEMORY_BYTES);
    expect(MAX_IN_MEMORY_BYTES).toBe(2 ** 30);
  });
});
