/**
 * A Gram-mode reply whose Grams are large (runner/session-host.ts gramReply): the Grams go into the
 * run's spill file after the rows (aligned, never over them), each `packed` left empty, and the
 * host reads rows and Grams back byte for byte (runner/spill.ts readSpilled). Small Grams stay in
 * the reply itself. Grams read into shared memory (as model-runner.ts runGrams reads them) become
 * the workers' LayerGrams as they are, uncopied (similarity/grams.ts layerGramOf).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SPILL_ALIGNMENT, SPILL_MIN_BYTES, type GramBatch, type LayerGrams } from '../../app/engine/runner/protocol.js';
import { gramReply, spill } from '../../app/engine/runner/session-host.js';
import { readSpilled } from '../../app/engine/runner/spill.js';
import { isShared, sharedBytes } from '../../app/engine/compute/shared-memory.js';
import { layerGramOf } from '../../app/engine/similarity/grams.js';

const dir = mkdtempSync(join(tmpdir(), 'ckawb-spilled-grams-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function batch(length: number, seed: number): GramBatch {
  return {
    packed: Float64Array.from({ length }, (_, i) => Math.sin(seed + i) * 1e3),
    constant: false,
    nonFinite: null,
  };
}

/** A float32 product's Gram, kept in float32 (batch-grams.ts). */
function batch32(length: number, seed: number): GramBatch {
  return { ...batch(length, seed), packed: Float32Array.from(batch(length, seed).packed) };
}

function layer(batches: GramBatch[]): LayerGrams {
  return { type: 'float32', dims: [8, 3], rows: 8, nonFinite: null, grams: batches };
}

describe('Grams through the spill file', () => {
  it('puts large Grams after the rows, and both read back exactly', async () => {
    const file = join(dir, 'slot-1.bin');
    // Rows of one layer, 1.2 MB, an odd number of bytes past the alignment.
    const rowData = Float32Array.from({ length: 300_001 }, (_, i) => i / 7);
    const rows = await spill([{ name: 'narrow', type: 'float32', dims: [300_001, 1], data: rowData }], file);
    // A float32 Gram of an odd number of values between float64 ones: each keeps its type and alignment.
    const grams = [layer([batch(90_000, 1), batch32(40_001, 2)]), null, layer([batch(70_000, 3)])];
    const copies = grams.map((g) => g?.grams.map((b) => Float64Array.from(b.packed)));
    const reply = await gramReply(grams, rows, file);
    // What goes through the channel is empty, and of the Gram's own type (not a view of its buffer).
    expect(reply.grams[0]!.grams.map((b) => [b.packed.constructor.name, b.packed.buffer.byteLength])).toEqual([
      ['Float64Array', 0],
      ['Float32Array', 0],
    ]);

    const spilled = reply.spilledGrams!;
    expect(spilled.start! % SPILL_ALIGNMENT).toBe(0);
    expect(spilled.start!).toBeGreaterThanOrEqual(rows.byteLength);
    expect(reply.grams.map((g) => g?.grams.map((b) => b.packed.length))).toEqual([[0, 0], undefined, [0]]);
    expect(reply.grams[0]!.rows).toBe(8);

    const rowsBack = await readSpilled(reply.rows as typeof rows, file);
    expect(Array.from(rowsBack[0]!.data as Float32Array)).toEqual(Array.from(rowData));
    const gramsBack = await readSpilled(spilled, file);
    expect(gramsBack.map((t) => t.type)).toEqual(['float64', 'float32', 'float64']);
    expect(gramsBack.map((t) => Array.from(t.data as Float64Array))).toEqual(
      copies.flatMap((c) => c ?? []).map((c) => Array.from(c)),
    );
  });

  it('puts them at the start when the rows came through the channel, and keeps small Grams in the reply', async () => {
    const file = join(dir, 'slot-2.bin');
    const big = [layer([batch(SPILL_MIN_BYTES / 8, 4)])];
    const expected = Array.from(big[0]!.grams[0]!.packed);
    const reply = await gramReply(big, { outputs: [] }, file);
    expect(reply.spilledGrams!.start ?? 0).toBe(0);
    expect(Array.from((await readSpilled(reply.spilledGrams!, file))[0]!.data as Float64Array)).toEqual(expected);

    const small = [layer([batch(SPILL_MIN_BYTES / 8 - 1, 5)])];
    const kept = await gramReply(small, { outputs: [] }, file);
    expect(kept.spilledGrams).toBeUndefined();
    expect(kept.grams[0]!.grams[0]!.packed).toBe(small[0]!.grams[0]!.packed);
    // Without a spill file (the host did not give one), everything stays in the reply.
    expect((await gramReply(big, { outputs: [] }, undefined)).spilledGrams).toBeUndefined();
  });

  it('read into shared memory, they are the workers’ Grams as they are; others are copied there', async () => {
    const file = join(dir, 'slot-3.bin');
    const n = 600; // n(n+1)/2 float64: 1.4 MB, through the spill file
    const gram = batch((n * (n + 1)) / 2, 6);
    const expected = Array.from(gram.packed);
    const reply = await gramReply([layer([gram])], { outputs: [] }, file);
    const spilled = reply.spilledGrams!;
    const [back] = await readSpilled(spilled, file, sharedBytes(spilled.byteLength, 'a test'));
    const packed = back!.data as Float64Array;
    const ref = { tensor: 't', name: 't' };
    const kept = layerGramOf(ref, 700, 'float32', { packed, n, constant: false, nonFinite: null });
    expect(kept.gram).toBe(packed);
    expect(isShared(kept.gram)).toBe(true);
    expect(Array.from(kept.gram)).toEqual(expected);
    const ordinary = Float64Array.from(expected);
    const copied = layerGramOf(ref, 700, 'float32', { packed: ordinary, n, constant: false, nonFinite: null });
    expect(copied.gram).not.toBe(ordinary);
    expect(isShared(copied.gram)).toBe(true);
    expect(Array.from(copied.gram)).toEqual(expected);
  });
});
