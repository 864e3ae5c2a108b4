/**
 * Rows the runner writes into .npy files itself (runner/row-files.ts): whatever the sizes of the
 * runs — a few rows, odd row lengths, a run larger than one write, padding rows of a fixed
 * batch — each finished file is byte for byte the .npy that io/npy.ts encodes from all the rows at
 * once, on disk and in a tmpfs. Outputs of the wrong shape or type are not written; rows out of
 * order are refused; a missing file is named. The rows are written from the run's own output
 * buffers, after the run has replied: the session never hands them out again for a later run.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { Mulberry32 } from '../../app/engine/cka/rng.js';
import { encodeNpy } from '../../app/engine/io/npy.js';
import type { RowFileSpec, RunFilesRequest, WireTensor } from '../../app/engine/runner/protocol.js';
import { RowFiles } from '../../app/engine/runner/row-files.js';
import { SessionHost } from '../../app/engine/runner/session-host.js';

const generator = new Mulberry32(5);
const random = () => generator.nextUint32() / 2 ** 32 - 0.5;

const folders: string[] = [];
afterAll(() => folders.forEach((d) => rmSync(d, { recursive: true, force: true })));

function folderIn(base: string): string {
  const dir = mkdtempSync(join(base, 'row-files-'));
  folders.push(dir);
  return dir;
}

const bases = [tmpdir(), ...(existsSync('/dev/shm') ? ['/dev/shm'] : [])];

/** Layer l's rows for examples [start, start + count), padded to `padTo` rows with -1 (a fixed batch). */
function output(all: Float32Array, features: number, start: number, count: number, padTo = count): WireTensor {
  const data = new Float32Array(padTo * features).fill(-1);
  data.set(all.subarray(start * features, (start + count) * features));
  return { name: 'x', type: 'float32', dims: [padTo, features], data };
}

function spec(file: string, features: number, start: number, count: number, total: number, padTo = count): RowFileSpec {
  return {
    file,
    target: `${file}.final`,
    dims: [padTo, features],
    rows: count,
    features,
    rowOffset: start,
    totalRows: total,
  };
}

describe.each(bases)('row files in %s', (base) => {
  it('any run sizes give the .npy of all the rows, byte for byte', async () => {
    const dir = folderIn(base);
    // Row lengths of 5, 1000 and 17,001 floats; the third's larger runs exceed one write (8 MiB).
    const features = [5, 1000, 17_001];
    const runs = [2, 3, 128, 37, 1, 100];
    const total = runs.reduce((a, b) => a + b, 0);
    // Random values for the small layers; a cheap pattern of distinct values for the large one.
    const rows = features.map((p) =>
      p > 1000
        ? Float32Array.from({ length: total * p }, (_, i) => (i % 9973) / 7 - i / 1e6)
        : Float32Array.from({ length: total * p }, random),
    );
    const files = features.map((_, l) => join(dir, `layer${l}.npy`));
    for (const f of files) writeFileSync(f, '');
    const writer = new RowFiles();
    let start = 0;
    for (const [k, count] of runs.entries()) {
      // The fourth run comes from a fixed batch of 40: three padding rows follow the examples.
      const padTo = k === 3 ? 40 : count;
      const outputs = features.map((p, l) => output(rows[l]!, p, start, count, padTo));
      const request: RunFilesRequest = {
        layers: features.map((p, l) => spec(files[l]!, p, start, count, total, padTo)),
      };
      const written = await writer.add(outputs, request);
      expect(written).toEqual(
        features.map((p) => ({ type: 'float32', dims: [padTo, p], rows: count, nonFinite: null })),
      );
      start += count;
    }
    for (const [l, p] of features.entries()) {
      const expected = encodeNpy(rows[l]!, [total, p]);
      const actual = readFileSync(files[l]!);
      expect(actual.length).toBe(expected.length);
      expect(Buffer.compare(actual, Buffer.from(expected))).toBe(0);
    }
    // The last rows closed the files: a later session may write them again.
    await writer.close();
  });

  it('converts float64 and float16 outputs, counts non-finite values from the probe index, and skips a layer without a file', async () => {
    const dir = folderIn(base);
    const file = join(dir, 'f64.npy');
    writeFileSync(file, '');
    const values = [1.5, Number.NaN, -2, Number.POSITIVE_INFINITY, 0.25, 3];
    const writer = new RowFiles();
    const first = await writer.add(
      [
        { name: 'a', type: 'float64', dims: [2, 3], data: Float64Array.from(values) },
        { name: 'b', type: 'float32', dims: [2, 1], data: new Float32Array(2) },
      ],
      { layers: [{ ...spec(file, 3, 0, 2, 3), dims: [2, 3] }, null] },
    );
    expect(first).toEqual([
      { type: 'float64', dims: [2, 3], rows: 2, nonFinite: { nan: 1, inf: 1, firstExample: 0 } },
      null,
    ]);
    // float16 1.0 = 0x3c00, -0.5 = 0xb800, 2.0 = 0x4000.
    await writer.add([{ name: 'a', type: 'float16', dims: [1, 3], data: Uint16Array.from([0x3c00, 0xb800, 0x4000]) }], {
      layers: [spec(file, 3, 2, 1, 3)],
    });
    const expected = encodeNpy(Float32Array.from([...values, 1, -0.5, 2]), [3, 3]);
    expect(Buffer.compare(readFileSync(file), Buffer.from(expected))).toBe(0);
  });

  it('writes nothing for an output of another shape or type, refuses rows out of order, and names a missing file', async () => {
    const dir = folderIn(base);
    const file = join(dir, 'x.npy');
    writeFileSync(file, '');
    const writer = new RowFiles();
    const wrongShape = await writer.add([{ name: 'x', type: 'float32', dims: [2, 4], data: new Float32Array(8) }], {
      layers: [spec(file, 3, 0, 2, 4)],
    });
    expect(wrongShape[0]).toMatchObject({ rows: 0, dims: [2, 4] });
    const wrongType = await writer.add([{ name: 'x', type: 'int32', dims: [2, 3], data: new Int32Array(6) }], {
      layers: [spec(file, 3, 0, 2, 4)],
    });
    expect(wrongType[0]).toMatchObject({ rows: 0, type: 'int32' });
    expect(statSync(file).size).toBe(0);
    await writer.add([output(new Float32Array(12), 3, 0, 2)], { layers: [spec(file, 3, 0, 2, 4)] });
    await expect(
      writer.add([output(new Float32Array(12), 3, 3, 1)], { layers: [spec(file, 3, 3, 1, 4)] }),
    ).rejects.toMatchObject({ code: 'INTERNAL', message: expect.stringContaining('arrived after 2 of 4') });
    await writer.close();

    const missing = join(dir, 'gone.npy');
    await expect(
      new RowFiles().add([output(new Float32Array(3), 3, 0, 1)], { layers: [spec(missing, 3, 0, 1, 1)] }),
    ).rejects.toMatchObject({ code: 'ENOENT', path: missing });
  });
});

describe('a session writing rows to files', () => {
  it('gives every run with files output buffers of its own, so writes still in flight keep their rows', async () => {
    const model = new URL('../fixtures/models/tiny_cnn.onnx', import.meta.url).pathname;
    const sha256 = createHash('sha256').update(readFileSync(model)).digest('hex');
    const host = new SessionHost();
    const { session } = await host.open({
      id: 1,
      type: 'open',
      model: { path: model, sha256 },
      extraOutputs: [],
      config: { optimization: 'fast', intraOpThreads: 1 },
    });
    const dir = folderIn(tmpdir());
    const file = join(dir, 'logits.npy');
    writeFileSync(file, '');
    const batch = 4;
    const runs = 3;
    const images = Float32Array.from({ length: runs * batch * 784 }, random);
    const feeds = (k: number): WireTensor[] => [
      {
        name: 'input',
        type: 'float32',
        dims: [batch, 1, 28, 28],
        data: images.slice(k * batch * 784, (k + 1) * batch * 784),
      },
    ];
    // The logits of each batch from plain runs (which may reuse their outputs), copied at once.
    const logits: Float32Array[] = [];
    for (let k = 0; k < runs; k++) {
      const reply = await host.run({ id: 2, type: 'run', session, feeds: feeds(k), fetch: ['logits'] });
      const out = 'outputs' in reply ? reply.outputs[0] : undefined;
      if (!out || !('data' in out)) throw new Error('a small reply comes through the channel');
      logits.push(Float32Array.from(out.data as Float32Array));
    }
    const given = vi.spyOn(RowFiles.prototype, 'add');
    try {
      for (let k = 0; k < runs; k++) {
        await host.run({
          id: 3,
          type: 'run',
          session,
          feeds: feeds(k),
          fetch: ['logits'],
          files: { layers: [spec(file, 10, k * batch, batch, runs * batch)] },
        });
      }
      const buffers = given.mock.calls.map(([outputs]) => outputs[0]!.data.buffer);
      expect(buffers).toHaveLength(runs);
      expect(new Set(buffers).size).toBe(runs);
    } finally {
      given.mockRestore();
      await host.close(session);
    }
    const all = new Float32Array(runs * batch * 10);
    logits.forEach((l, k) => all.set(l, k * batch * 10));
    expect(Buffer.compare(readFileSync(file), Buffer.from(encodeNpy(all, [runs * batch, 10])))).toBe(0);
  });
});
