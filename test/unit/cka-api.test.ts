/**
 * The CKA core's API as the experiments runner uses it: Grams computed once and reused across
 * measures and pairs, spilled to and loaded from .npy, streamed minibatch accumulation, and sides
 * read from `extract` directories and .npy folders.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { fileSources, readFileSide, selectLayers } from '../../app/engine/activations/layer-files.js';
import { packedLength } from '../../app/engine/cka/packed.js';
import { readNpy, writeNpy } from '../../app/engine/io/npy.js';
import { CkaEngine, type LayerSource } from '../../app/engine/similarity/index.js';

const fixtures = fileURLToPath(new URL('../fixtures/cka/', import.meta.url));
const expected = JSON.parse(readFileSync(`${fixtures}expected.json`, 'utf8')) as {
  wide: Record<string, { matrix: number[][] } | number[][]> & { rows: string[]; cols: string[] };
};
const npy = (name: string): LayerSource => ({
  kind: 'npy',
  layer: { tensor: name, name },
  path: `${fixtures}${name}.npy`,
});

function expectClose(actual: (number | null)[][], reference: number[][], tolerance: number): void {
  actual.forEach((row, r) =>
    row.forEach((v, c) => expect(Math.abs(v! - reference[r]![c]!)).toBeLessThanOrEqual(tolerance)),
  );
}

describe('CKA core API', () => {
  const engine = new CkaEngine({ threads: 2, precision: 'float64' });
  const scratch = mkdtempSync(join(tmpdir(), 'cka-api-'));
  afterAll(async () => {
    await engine.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('computes Grams once and reuses them for several measures and pairings', async () => {
    const rows = await engine.computeGrams(expected.wide.rows.map(npy));
    const cols = await engine.computeGrams(expected.wide.cols.map(npy));
    expect(rows[0]!.gram.length).toBe(packedLength(36));
    expect(rows[0]!.gram.buffer).toBeInstanceOf(SharedArrayBuffer);
    const [linear, debiased] = await engine.compareGrams(rows, cols, [{ name: 'linear' }, { name: 'debiased' }]);
    expectClose(linear!.matrix, expected.wide.linear as number[][], 1e-12);
    expectClose(debiased!.matrix, expected.wide.debiased as number[][], 1e-12);
    // the same Gram objects in another pairing: B × A is the transpose of A × B
    const [transposed] = await engine.compareGrams(cols, rows, [{ name: 'rbf', threshold: 0.5 }]);
    transposed!.matrix.forEach((row, r) =>
      row.forEach((v, c) => expect(Math.abs(v! - (expected.wide['rbf0.5'] as number[][])[c]![r]!)).toBeLessThan(1e-12)),
    );
  });

  it('keeps a float32 product’s Gram in float32: half the memory, the same CKA as widened to float64', async () => {
    const single = new CkaEngine({ threads: 2, precision: 'float32' });
    try {
      const rows = await single.computeGrams(expected.wide.rows.map(npy));
      const cols = await single.computeGrams(expected.wide.cols.map(npy));
      for (const g of [...rows, ...cols]) {
        expect(g.precision).toBe('float32');
        expect(g.gram).toBeInstanceOf(Float32Array);
        expect(g.gram.byteLength).toBe(packedLength(36) * 4);
      }
      const widened = (grams: typeof rows) => grams.map((g) => ({ ...g, gram: Float64Array.from(g.gram) }));
      const measures = [{ name: 'linear' }, { name: 'debiased' }, { name: 'rbf', threshold: 0.5 }] as const;
      const kept = await single.compareGrams(rows, cols, measures);
      const wide = await single.compareGrams(widened(rows), widened(cols), measures);
      // The stored values are the product's own: every result is the one float64 storage gives.
      expect(kept.map((r) => r.matrix)).toEqual(wide.map((r) => r.matrix));
      // and within float32 rounding of the float64 reference (numpy)
      expectClose(kept[0]!.matrix, expected.wide.linear as number[][], 1e-5);
      expectClose(kept[1]!.matrix, expected.wide.debiased as number[][], 1e-5);
      expectClose(kept[2]!.matrix, expected.wide['rbf0.5'] as number[][], 1e-5);
    } finally {
      await single.close();
    }
  });

  it('computes one Gram for a source that appears on both sides', async () => {
    const [a0, a1, b0] = [npy('wide_a0'), npy('wide_a1'), npy('wide_b0')];
    let total = 0;
    const [result] = await engine.compare([a0, a1], [a1, b0], [{ name: 'linear' }], {
      linearForm: 'gram',
      onProgress: (p) => {
        if (p.stage === 'grams') total = p.total;
      },
    });
    expect(total).toBe(3);
    expect(result!.matrix[1]![0]).toBe(1);
    expect(Math.abs(result!.matrix[0]![1]! - (expected.wide.linear as number[][])[0]![0]!)).toBeLessThan(1e-12);
  });

  it('spills Grams to .npy and loads them back (numpy-readable packed upper triangle)', async () => {
    const [gram] = await engine.computeGrams([npy('wide_a0')]);
    const path = join(scratch, 'cache', 'wide_a0.gram.npy');
    await engine.saveGram(gram!, path);
    const onDisk = await readNpy(path);
    expect(onDisk.header.shape).toEqual([packedLength(36)]);
    // The fixture is float64: so is its Gram, stored as it is.
    expect([gram!.precision, onDisk.header.dtype]).toEqual(['float64', 'float64']);
    expect(Array.from(onDisk.data as Float64Array)).toEqual(Array.from(gram!.gram));
    const loaded = await engine.loadGram(path);
    expect(loaded.layer).toEqual(gram!.layer);
    expect(loaded.gram.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(Array.from(loaded.gram)).toEqual(Array.from(gram!.gram));
    // A float32 product's values are float32s: stored as such, half the bytes, read back exactly.
    const narrow = { ...gram!, precision: 'float32' as const, gram: Float64Array.from(new Float32Array(gram!.gram)) };
    const narrowPath = join(scratch, 'cache', 'wide_a0.f32.gram.npy');
    await engine.saveGram(narrow, narrowPath);
    expect((await readNpy(narrowPath)).header.dtype).toBe('float32');
    const narrowLoaded = await engine.loadGram(narrowPath);
    expect(narrowLoaded.gram).toBeInstanceOf(Float32Array); // and kept so in memory
    expect(Array.from(narrowLoaded.gram)).toEqual(Array.from(narrow.gram));
    // One value a float32 cannot hold: that Gram is stored in float64.
    narrow.gram[7] = 1 / 3;
    await engine.saveGram(narrow, narrowPath);
    expect((await readNpy(narrowPath)).header.dtype).toBe('float64');
    expect(Array.from((await engine.loadGram(narrowPath)).gram)).toEqual(Array.from(narrow.gram));
    const cols = await engine.computeGrams(expected.wide.cols.map(npy));
    const [fromLoaded] = await engine.compareGrams([loaded], cols, [{ name: 'linear' }]);
    expectClose(fromLoaded!.matrix, [(expected.wide.linear as number[][])[0]!], 1e-12);
    await expect(engine.loadGram(join(scratch, 'missing.npy'))).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('streams minibatch CKA from irregular chunks, equal to the batch computation', async () => {
    const rowsData = await Promise.all(expected.wide.rows.map((name) => readNpy(`${fixtures}${name}.npy`)));
    const colsData = await Promise.all(expected.wide.cols.map((name) => readNpy(`${fixtures}${name}.npy`)));
    const spec = (name: string) => ({ layer: { tensor: name, name }, features: 288 });
    const stream = engine.minibatchStream(expected.wide.rows.map(spec), expected.wide.cols.map(spec), {
      name: 'minibatch',
      batchSize: 8,
    });
    // chunks of 5, 13, 1, 17 rows, layers interleaved the way an extractor emits them
    const cuts = [0, 5, 18, 19, 36];
    for (let c = 0; c + 1 < cuts.length; c++) {
      for (const [side, arrays] of [
        ['row', rowsData],
        ['col', colsData],
      ] as const) {
        for (let i = 0; i < arrays.length; i++) {
          const data = arrays[i]!.data as Float32Array;
          await stream.push(side, i, data.subarray(cuts[c]! * 288, cuts[c + 1]! * 288));
        }
      }
    }
    const result = await stream.finish();
    expect(result.batches).toEqual({ count: 4, size: 8, droppedExamples: 4 });
    expectClose(result.matrix, (expected.wide.minibatch8 as { matrix: number[][] }).matrix, 1e-12);

    const uneven = engine.minibatchStream([spec('a')], [spec('b')], { name: 'minibatch', batchSize: 8 });
    await uneven.push('row', 0, (rowsData[0]!.data as Float32Array).subarray(0, 16 * 288));
    await uneven.push('col', 0, (colsData[0]!.data as Float32Array).subarray(0, 9 * 288));
    await expect(uneven.finish()).rejects.toThrow(/layer 'b' received 9 rows, layer 'a' received 16/);
    expect(() =>
      engine.minibatchStream([spec('a')], null, { name: 'minibatch', batchSize: 8, shuffleSeed: 1 }),
    ).toThrow(/random access/);
  });

  it('holds the producer that runs ahead until the other side catches up, and lets go on release', async () => {
    const data = (await readNpy(`${fixtures}${expected.wide.rows[0]!}.npy`)).data as Float32Array;
    const spec = (name: string) => ({ layer: { tensor: name, name }, features: 288 });
    const rows = (from: number, count: number) => data.subarray(from * 288, (from + count) * 288);
    const stream = engine.minibatchStream([spec('a')], [spec('b')], { name: 'minibatch', batchSize: 4 });
    await stream.push('row', 0, rows(0, 16)); // 4 batches ahead of the other side
    let caughtUp = false;
    const waiting = stream.keepPace('row', 2).then(() => (caughtUp = true));
    await stream.push('col', 0, rows(0, 4));
    await new Promise((resolve) => setImmediate(resolve));
    expect(caughtUp).toBe(false); // still 3 ahead
    await stream.push('col', 0, rows(4, 4));
    await waiting; // 2 ahead: free to go on
    await stream.keepPace('col', 0); // the side behind never waits
    await stream.push('row', 0, rows(16, 16));
    const held = stream.keepPace('row', 2);
    stream.release(); // the other side stopped: no more waiting
    await held;
    await stream.push('col', 0, rows(8, 24));
    expect((await stream.finish()).batches).toEqual({ count: 8, size: 4, droppedExamples: 0 });
  });

  it('reads extract directories (manifest + .npy), folders of .npy files and single files', async () => {
    const dir = join(scratch, 'extract');
    await fs.mkdir(join(dir, 'layers'), { recursive: true });
    const names = expected.wide.rows;
    for (const name of names) await fs.copyFile(`${fixtures}${name}.npy`, join(dir, 'layers', `${name}.npy`));
    const manifest = {
      model: { path: '/models/cnn.onnx', sha256: 'ab'.repeat(32) },
      probe: { spec: 'random:36:1', hash: 'cd'.repeat(16), n: 36 },
      layers: names.map((name, i) => ({
        tensor: `/block${i}/Relu_output_0`,
        name: `block${i}.relu`,
        op: i === 1 ? 'Conv' : 'Relu',
        shape: [8, 6, 6],
        features: 288,
        file: `layers/${name}.npy`,
      })),
    };
    await fs.writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest));
    const side = await readFileSide(dir);
    expect(side.kind).toBe('extract');
    expect(side.model).toEqual(manifest.model);
    expect(selectLayers(side, 'op:Relu').map((l) => l.name)).toEqual(['block0.relu', 'block2.relu']);
    expect(selectLayers(side, 'block2.relu,/block0/Relu_output_0').map((l) => l.name)).toEqual([
      'block0.relu',
      'block2.relu',
    ]);
    expect(() => selectLayers(side, 'nope')).toThrow(/no layer named 'nope'/);
    const [fromDir] = await engine.compare(fileSources(selectLayers(side, 'all')), expected.wide.cols.map(npy), [
      { name: 'linear' },
    ]);
    expect(fromDir!.rows).toEqual(manifest.layers.map((l) => ({ tensor: l.tensor, name: l.name })));
    expectClose(fromDir!.matrix, expected.wide.linear as number[][], 1e-12);

    const folder = join(scratch, 'folder');
    await fs.mkdir(folder);
    for (const name of ['layer10', 'layer2', 'layer1'])
      await writeNpy(join(folder, `${name}.npy`), new Float32Array(8), [4, 2]);
    await fs.writeFile(join(folder, 'notes.txt'), 'not a layer');
    const folderSide = await readFileSide(folder);
    expect(folderSide.kind).toBe('npy-folder');
    expect(folderSide.layers.map((l) => l.name)).toEqual(['layer1', 'layer2', 'layer10']);
    const single = await readFileSide(join(folder, 'layer2.npy'));
    expect(single.layers).toHaveLength(1);

    await fs.writeFile(join(dir, 'manifest.json'), JSON.stringify({ ...manifest, layers: [{ tensor: 'x' }] }));
    await expect(readFileSide(dir)).rejects.toThrow(/not an extract manifest \(layers\.0\.name/);
  });
});
