/**
 * A shell starts the CKA core's worker threads before it loads the rest of the app
 * (compute/pool.ts prestartComputePool); the engine created afterwards takes that pool.
 */
import { describe, expect, it } from 'vitest';
import { packedLength } from '../../app/engine/cka/packed.js';
import { prestartComputePool, takeComputePool } from '../../app/engine/compute/pool.js';
import { CkaEngine } from '../../app/engine/similarity/engine.js';

describe('prestarted compute pool', () => {
  it('is taken once, by the first engine or caller asking for as many threads', async () => {
    const started = prestartComputePool(2);
    expect(prestartComputePool(2)).toBe(started); // asked twice: still one pool
    expect(takeComputePool(1)).not.toBe(started); // another size: a pool of its own
    expect(takeComputePool(2)).toBe(started);
    expect(takeComputePool(2)).not.toBe(started); // taken already
    // its workers compute: the diagonal and row sums of K = [[2, 1], [1, 3]] (packed upper triangle)
    const packed = Float64Array.from([2, 1, 3]);
    expect(packed.length).toBe(packedLength(2));
    const summary = await started.run({ kind: 'summary', packed, n: 2 });
    expect([...summary.diag, ...summary.rowSums]).toEqual([2, 3, 3, 4]);
    await started.close();

    const next = prestartComputePool(2);
    const engine = new CkaEngine({ threads: 2 });
    expect(takeComputePool(2)).not.toBe(next); // the engine took it
    await engine.close();
  });
});
