import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultBatchSize, MAX_DEFAULT_BATCH } from '../../app/engine/activations/batch-size.js';
import { ActivationCache } from '../../app/engine/activations/cache.js';
import { ExtractDirSink, layerFileName } from '../../app/engine/activations/extract-dir.js';
import { scanNonFinite } from '../../app/engine/cka/non-finite.js';
import { NpyRowWriter } from '../../app/engine/activations/npy-row-writer.js';
import type { ExtractionInfo } from '../../app/engine/activations/types.js';
import { isTempName } from '../../app/engine/io/atomic.js';
import { readNpy } from '../../app/engine/io/npy.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'sinks-'));
const ramp = (from: number, count: number) => Float32Array.from({ length: count }, (_, i) => from + i);

describe('NpyRowWriter', () => {
  it('writes the header first, row blocks after, and renames into place on commit', async () => {
    const dir = tmp();
    const path = join(dir, 'a.npy');
    const writer = await NpyRowWriter.create(path, 5, 3);
    await writer.append(ramp(0, 6));
    expect(existsSync(path)).toBe(false);
    expect(readdirSync(dir).every(isTempName)).toBe(true);
    await writer.append(ramp(6, 9));
    await writer.commit();
    const array = await readNpy(path);
    expect(array.header.shape).toEqual([5, 3]);
    expect(array.header.dtype).toBe('float32');
    expect(array.data).toEqual(ramp(0, 15));
    expect(readdirSync(dir)).toEqual(['a.npy']);
  });

  it('refuses to commit missing rows or to overflow, and discard leaves nothing', async () => {
    const dir = tmp();
    const writer = await NpyRowWriter.create(join(dir, 'b.npy'), 4, 2);
    await writer.append(ramp(0, 4));
    await expect(writer.append(ramp(0, 6))).rejects.toThrow('do not fit the remaining rows');
    await expect(writer.commit()).rejects.toThrow('2 of 4 rows written');
    expect(readdirSync(dir)).toEqual([]);
    const other = await NpyRowWriter.create(join(dir, 'c.npy'), 4, 2);
    await other.discard();
    expect(readdirSync(dir)).toEqual([]);
  });
});

const info = (layers: [string, string, number[]][], n: number, probeHash = 'p'.repeat(64)): ExtractionInfo => ({
  model: { path: '/models/m.onnx', sha256: 'm'.repeat(64) },
  probe: { spec: 'random:4:0', hash: probeHash, n },
  layers: layers.map(([tensor, name, shape]) => ({
    tensor,
    name,
    op: 'Relu',
    shape,
    features: shape.reduce((a, b) => a * b, 1),
    dtype: 'float32',
    reduction: 'flatten' as const,
    key: tensor,
    rows: n,
    plan: null,
    rowsPerExample: 1,
    rawValues: shape.reduce((a, b) => a * b, 1),
  })),
});
const wanted = (n: number, ...keys: string[]) => keys.map((key) => ({ key, rows: n }));

async function feed(sink: ExtractDirSink, what: ExtractionInfo): Promise<void> {
  await sink.begin(what);
  for (let start = 0; start < what.probe.n; start += 3) {
    const rows = Math.min(3, what.probe.n - start);
    for (const [i, layer] of what.layers.entries()) {
      const data = ramp(1000 * i + start * layer.features, rows * layer.features);
      await sink.write({ layer: i, tensor: layer.tensor, rowOffset: start, rows, features: layer.features, data });
    }
  }
  await sink.finish();
}

describe('extract directory', () => {
  it('writes the manifest contract exactly and one [n, features] float32 .npy per layer', async () => {
    const dir = tmp();
    const what = info(
      [
        ['/a/Relu_output_0', 'a', [2, 2]],
        ['/b/Relu_output_0', 'b/c', [3]],
      ],
      4,
    );
    await feed(new ExtractDirSink(dir), what);
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    expect(manifest).toEqual({
      model: { path: '/models/m.onnx', sha256: 'm'.repeat(64) },
      probe: { spec: 'random:4:0', hash: 'p'.repeat(64), n: 4 },
      layers: [
        { tensor: '/a/Relu_output_0', name: 'a', op: 'Relu', shape: [2, 2], features: 4, file: 'a.npy' },
        { tensor: '/b/Relu_output_0', name: 'b/c', op: 'Relu', shape: [3], features: 3, file: 'b_c.npy' },
      ],
    });
    const b = await readNpy(join(dir, 'b_c.npy'));
    expect(b.header.shape).toEqual([4, 3]);
    expect(b.data).toEqual(Float32Array.from([...ramp(1000, 9), ...ramp(1009, 3)]));
  });

  it('abort leaves no file and no manifest', async () => {
    const dir = tmp();
    const sink = new ExtractDirSink(dir);
    const what = info([['/a/Relu_output_0', 'a', [2]]], 4);
    await sink.begin(what);
    await sink.write({ layer: 0, tensor: '/a/Relu_output_0', rowOffset: 0, rows: 2, features: 2, data: ramp(0, 4) });
    await sink.abort();
    expect(readdirSync(dir)).toEqual([]);
  });

  it('file names are safe and unique (case-insensitively)', () => {
    const taken = new Set<string>(['manifest.json']);
    expect(
      ['layer1.0.relu', 'Layer1.0.relu', 'a/b', 'a:b', '..hidden', 'manifest'].map((n) => layerFileName(n, taken)),
    ).toEqual(['layer1.0.relu.npy', 'Layer1.0.relu-2.npy', 'a_b.npy', 'a_b-2.npy', '_hidden.npy', 'manifest.npy']);
  });
});

describe('activation cache', () => {
  it('finds complete entries only, grows layer by layer, and keys by model and probe hashes', async () => {
    const cache = new ActivationCache(tmp());
    const m = 'm'.repeat(64);
    const p = 'p'.repeat(64);
    expect((await cache.lookup(m, p, 4, wanted(4, '/a'))).size).toBe(0);
    await feed(cache.sink(m, p), info([['/a', 'a', [2]]], 4));
    await feed(cache.sink(m, p), info([['/b', 'b', [3]]], 4));
    const found = await cache.lookup(m, p, 4, wanted(4, '/a', '/b', '/c'));
    expect([...found.keys()].sort()).toEqual(['/a', '/b']);
    expect((await readNpy(found.get('/b')!.path)).header.shape).toEqual([4, 3]);
    // Another n, or another probe hash, is another entry.
    expect((await cache.lookup(m, p, 5, wanted(5, '/a'))).size).toBe(0);
    expect((await cache.lookup(m, 'q'.repeat(64), 4, wanted(4, '/a'))).size).toBe(0);
    // A file that does not hold what the manifest says is not a hit.
    const { writeFileSync } = await import('node:fs');
    writeFileSync(found.get('/a')!.path, 'truncated');
    expect([...(await cache.lookup(m, p, 4, wanted(4, '/a', '/b'))).keys()]).toEqual(['/b']);
  });
});

describe('NaN/Inf scan and default batch size', () => {
  it('counts NaN and ±Inf and notes the first example', () => {
    expect(scanNonFinite(Float32Array.from([1, 2, 3, 4]), 2, 0, undefined)).toBeUndefined();
    const count = scanNonFinite(Float32Array.from([0, 1, 2, NaN, Infinity, -Infinity]), 2, 10, undefined);
    expect(count).toEqual({ nan: 1, inf: 2, firstExample: 11 });
    expect(scanNonFinite(Float32Array.from([NaN, 0]), 2, 20, count)).toEqual({ nan: 2, inf: 2, firstExample: 11 });
  });

  it('fits a memory budget, within [1, 256] and n', () => {
    const GiB = 2 ** 30;
    expect(defaultBatchSize(784, 2, 10_000, 16 * GiB)).toBe(MAX_DEFAULT_BATCH);
    // 256 MiB / (4 B · 1e6 values · 2 copies · 3 batches) = 11.
    expect(defaultBatchSize(1_000_000, 2, 10_000, 16 * GiB)).toBe(11);
    expect(defaultBatchSize(100_000_000, 2, 10_000, 16 * GiB)).toBe(1);
    expect(defaultBatchSize(784, 2, 7, 16 * GiB)).toBe(7);
  });
});

describe('allFinite', () => {
  it('is false exactly when a NaN or ±Inf is present, also among huge finite values', async () => {
    const { allFinite } = await import('../../app/engine/cka/non-finite.js');
    const big = new Float32Array(1001).fill(3.4e38);
    expect(allFinite(big)).toBe(true); // the float64 sum does not overflow
    for (const bad of [NaN, Infinity, -Infinity]) {
      for (const at of [0, 3, 999, 1000]) {
        const x = new Float32Array(1001).fill(1);
        x[at] = bad;
        expect(allFinite(x)).toBe(false);
      }
    }
    const mixed = new Float32Array([Infinity, -Infinity]);
    expect(allFinite(mixed)).toBe(false);
  });
});
