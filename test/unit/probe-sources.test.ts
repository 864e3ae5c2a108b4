import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { readNpy, toFloat32 } from '../../app/engine/io/npy.js';
import type { ModelInput } from '../../app/engine/probe/model-input.js';
import { openProbe } from '../../app/engine/probe/open-probe.js';
import { gaussianExample } from '../../app/engine/probe/random-probe.js';
import type { ProbeSource } from '../../app/engine/probe/source.js';

const probeDir = new URL('../fixtures/activations/probe/', import.meta.url).pathname;
const zooDir = new URL('../fixtures/activations/zoo/', import.meta.url).pathname;
const input = (shape: ModelInput['shape']): ModelInput => ({ name: 'input', shape, dtype: 'float32' });
const x34 = input(['batch', 3, 4, 4]);
const opened: ProbeSource[] = [];

async function open(spec: string, target: ModelInput, context = {}): Promise<ProbeSource> {
  const probe = await openProbe(spec, target, context);
  opened.push(probe);
  return probe;
}

afterAll(async () => {
  await Promise.all(opened.map((p) => p.close()));
});

/** Rows `rows` ("start:stop") of a probe fixture as numpy reads them, flattened, in float64. */
function numpyValues(file: string, rows: string): number[] {
  const code =
    'import json, sys\nimport numpy as np\nstart, stop = map(int, sys.argv[2].split(":"))\n' +
    'a = np.load(sys.argv[1])[start:stop]\nassert np.isfinite(a).all()\n' +
    'json.dump(a.astype(np.float64).ravel().tolist(), sys.stdout)';
  const out = execFileSync('/usr/bin/python3', ['-c', code, join(probeDir, file), rows]);
  return JSON.parse(out.toString()) as number[];
}

describe('array probes (npy, npz)', async () => {
  // io/npy.ts is checked against numpy on its own; it reads whole arrays, the probes read rows.
  const reference = toFloat32(await readNpy(join(probeDir, 'x_f4.npy')));

  it.each(['x_f4.npy', 'x_f8.npy', 'x_f4_big.npy'])('npy %s gives the array row by row', async (file) => {
    const probe = await open(`npy:${join(probeDir, file)}`, x34);
    expect(probe.n).toBe(5);
    expect(probe.exampleShape).toEqual([3, 4, 4]);
    expect(await probe.read(0, 5)).toEqual(reference);
    expect(await probe.read(1, 3)).toEqual(reference.subarray(48, 4 * 48));
  });

  it('float16 and uint8 arrays convert as numpy does', async () => {
    // numpy's own conversion (float16 and uint8 → float64 are exact, and so is float64 → float32 here).
    const half = await open(`npy:${join(probeDir, 'x_f2.npy')}`, x34);
    expect(await half.read(0, 5)).toEqual(Float32Array.from(numpyValues('x_f2.npy', '0:5')));
    const bytes = await open(`npy:${join(probeDir, 'x_u1.npy')}`, x34);
    expect(await bytes.read(2, 2)).toEqual(Float32Array.from(numpyValues('x_u1.npy', '2:4')));
  });

  it('npz members, stored and deflated, read in any order', async () => {
    const stored = await open(`npz:${join(probeDir, 'stored.npz')}:x`, x34);
    expect(await stored.read(0, 5)).toEqual(reference);
    const deflated = await open(`npz:${join(probeDir, 'deflated.npz')}`, x34);
    expect(deflated.spec).toBe(`npz:${join(probeDir, 'deflated.npz')}:x`);
    expect(await deflated.read(3, 2)).toEqual(reference.subarray(3 * 48));
    expect(await deflated.read(0, 2)).toEqual(reference.subarray(0, 96)); // backwards: the inflater restarts
  });

  it('refuses what cannot be a probe, in one line naming the file', async () => {
    const stored = join(probeDir, 'stored.npz');
    await expect(open(`npz:${stored}`, x34)).rejects.toThrow(
      `${stored}: the archive holds several arrays (x, labels); name one as npz:PATH:KEY`,
    );
    await expect(open(`npz:${stored}:y`, x34)).rejects.toThrow(
      `${stored}: no array 'y' in the archive (it has: x, labels)`,
    );
    await expect(open(`npy:${join(probeDir, 'x_i8.npy')}`, x34)).rejects.toThrow(
      'int64 arrays cannot be a probe (use float32, float64 or uint8)',
    );
    await expect(open(`npy:${join(probeDir, 'x_fortran.npy')}`, x34)).rejects.toThrow('stored in Fortran order');
    await expect(open('npy:/no/such/file.npy', x34)).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: 'probe npy:/no/such/file.npy: /no/such/file.npy: no such file',
    });
    await expect(open(`npy:${join(probeDir, 'x_f4.npy')}`, input(['batch', 1, 28, 28]))).rejects.toMatchObject({
      code: 'BAD_PROBE',
      message:
        `probe npy:${join(probeDir, 'x_f4.npy')} gives examples of shape [3, 4, 4], but the model input 'input' ` +
        'takes [1, 28, 28] per example ([batch, 1, 28, 28] with the batch axis)',
    });
  });

  it('hashes the canonical spec and the bytes read: a changed file is a different probe', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'probe-'));
    const copy = join(dir, 'x.npy');
    copyFileSync(join(probeDir, 'x_f4.npy'), copy);
    const a = await open(`npy:${copy}`, x34);
    const again = await open(`npy:${dir}/./x.npy`, x34);
    expect(again.spec).toBe(a.spec);
    expect(again.hash).toBe(a.hash);
    const bytes = (await readNpy(copy)).data as Float32Array;
    bytes[7] = 42;
    const { encodeNpy } = await import('../../app/engine/io/npy.js');
    writeFileSync(copy, encodeNpy(bytes, [5, 3, 4, 4]));
    const changed = await open(`npy:${copy}`, x34);
    expect(changed.hash).not.toBe(a.hash);
    expect(a.hash).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('fashion-mnist:N', () => {
  it('normalises like models/train_zoo.py, bit for bit, for NCHW and NHWC inputs', async () => {
    const expected = toFloat32(await readNpy(join(zooDir, 'expected-inputs.npy')));
    const probe = await open('fashion-mnist:6', input(['batch', 1, 28, 28]), { modelsDir: zooDir });
    expect(probe.spec).toBe('fashion-mnist:6');
    expect(probe.exampleShape).toEqual([1, 28, 28]);
    expect(await probe.read(0, 6)).toEqual(expected);
    const nhwc = await open('fashion-mnist:4', input(['n', 28, 28, 1]), { modelsDir: zooDir });
    expect(nhwc.exampleShape).toEqual([28, 28, 1]);
    expect(await nhwc.read(2, 2)).toEqual(expected.subarray(2 * 784, 4 * 784));
  });

  it('says what is missing or too small', async () => {
    await expect(open('fashion-mnist:7', input(['b', 1, 28, 28]), { modelsDir: zooDir })).rejects.toThrow(
      'probe fashion-mnist:7: the built-in set has 6 images',
    );
    await expect(open('fashion-mnist:2', input(['b', 3, 32, 32]), { modelsDir: zooDir })).rejects.toThrow(
      "gives examples of shape [1, 28, 28], but the model input 'input' takes [3, 32, 32] per example",
    );
    await expect(open('fashion-mnist:2', input(['b', 1, 28, 28]), { modelsDir: tmpdir() })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });
});

describe('random:N[:SEED]', () => {
  it('is reproducible, independent of batching, standard normal, and hashed with its shape', async () => {
    const a = await open('random:50:3', x34);
    const all = await a.read(0, 50);
    const pieces = new Float32Array(50 * 48);
    for (let s = 0; s < 50; s += 7) pieces.set(await a.read(s, Math.min(7, 50 - s)), s * 48);
    expect(pieces).toEqual(all);
    const one = new Float32Array(48);
    gaussianExample(3, 10, one);
    expect(all.subarray(480, 528)).toEqual(one);
    const mean = all.reduce((s, v) => s + v, 0) / all.length;
    const variance = all.reduce((s, v) => s + (v - mean) ** 2, 0) / all.length;
    expect(Math.abs(mean)).toBeLessThan(0.05);
    expect(Math.abs(variance - 1)).toBeLessThan(0.06);
    const other = await open('random:50:4', x34);
    expect(await other.read(0, 1)).not.toEqual(all.subarray(0, 48));
    const otherShape = await open('random:50:3', input(['b', 48]));
    expect(otherShape.hash).not.toBe(a.hash);
    await expect(open('random:5', input(['b', 3, 'h', 'w']))).rejects.toThrow(
      "probe random:5:0 needs a fixed input shape, but the model input 'input' is [b, 3, h, w]",
    );
  });
});

describe('images:DIR', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'images-'));
  // 4×4 RGB with pixel (y, x) = (16y + x, 100 + 10y, 255 − 16x), written as PNG (lossless).
  const rgb = Buffer.alloc(4 * 4 * 3);
  for (let y = 0; y < 4; y++) {
    for (let x = 0; x < 4; x++) rgb.set([16 * y + x, 100 + 10 * y, 255 - 16 * x], (y * 4 + x) * 3);
  }
  const raw = (data: Buffer, width: number, height: number, channels: 1 | 3) =>
    sharp(data, { raw: { width, height, channels } });
  await raw(rgb, 4, 4, 3).png().toFile(join(dir, 'b.png'));
  await raw(Buffer.alloc(4 * 4 * 3, 200), 4, 4, 3)
    .png()
    .toFile(join(dir, 'a.png'));
  await raw(Buffer.alloc(8 * 6 * 3, 60), 8, 6, 3)
    .jpeg({ quality: 100 })
    .toFile(join(dir, 'c.JPG'));
  writeFileSync(join(dir, 'notes.txt'), 'not an image');
  mkdirSync(join(dir, 'sub'));

  it('sorted PNG/JPEG files, others skipped and counted, NCHW with mean/std', async () => {
    const probe = await open(`images:${dir}?mean=0.5&std=0.25`, x34);
    expect(probe.n).toBe(3);
    expect(probe.notes).toEqual(['skipped 2 entries that are not PNG or JPEG files']);
    expect(probe.spec).toBe(`images:${dir}?size=4x4&mode=rgb&mean=0.5,0.5,0.5&std=0.25,0.25,0.25&layout=nchw`);
    const x = await probe.read(0, 3);
    const norm = (v: number) => (v / 255 - 0.5) / 0.25;
    expect(x[0]).toBeCloseTo(norm(200), 6); // a.png first
    const b = x.subarray(48, 96);
    for (let y = 0; y < 4; y++) {
      for (let xx = 0; xx < 4; xx++) {
        expect(b[0 * 16 + y * 4 + xx]).toBeCloseTo(norm(16 * y + xx), 6);
        expect(b[1 * 16 + y * 4 + xx]).toBeCloseTo(norm(100 + 10 * y), 6);
        expect(b[2 * 16 + y * 4 + xx]).toBeCloseTo(norm(255 - 16 * xx), 6);
      }
    }
    // c.JPG, 8×6 and uniform: resized and centre-cropped to 4×4, still (almost exactly) uniform.
    const c = x.subarray(96, 144);
    for (const v of c) expect(v).toBeCloseTo(norm(60), 1);
  });

  it('NHWC layout is taken from the model input; gray from one channel', async () => {
    const nhwc = await open(`images:${dir}`, input(['n', 4, 4, 3]));
    expect(nhwc.exampleShape).toEqual([4, 4, 3]);
    const b = (await nhwc.read(1, 1)).subarray(0, 48);
    expect(b[(2 * 4 + 3) * 3 + 0]).toBeCloseTo((16 * 2 + 3) / 255, 6);
    expect(b[(2 * 4 + 3) * 3 + 2]).toBeCloseTo((255 - 48) / 255, 6);
    const gray = await open(`images:${dir}`, input(['n', 1, 4, 4]));
    expect(gray.spec).toContain('mode=gray');
    expect((await gray.read(0, 1))[5]).toBeCloseTo(200 / 255, 2);
  });

  it('needs a size for models without a fixed one; refuses empty folders and missing ones', async () => {
    await expect(open(`images:${dir}`, input(['n', 3, 'h', 'w']))).rejects.toThrow(
      'has no fixed spatial size: add ?size=HxW',
    );
    const sized = await open(`images:${dir}?size=2x3`, input(['n', 3, 'h', 'w']));
    expect(sized.exampleShape).toEqual([3, 2, 3]);
    const empty = mkdtempSync(join(tmpdir(), 'empty-'));
    writeFileSync(join(empty, 'readme.md'), '# nothing');
    await expect(open(`images:${empty}`, x34)).rejects.toMatchObject({
      code: 'BAD_PROBE',
      message: `probe images:${empty}: no PNG or JPEG images in ${empty} (1 other entries skipped)`,
    });
    await expect(open(`images:${join(empty, 'nope')}`, x34)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(open(`images:${dir}?size=8x8`, x34)).rejects.toThrow(
      "gives examples of shape [3, 8, 8], but the model input 'input' takes [3, 4, 4] per example",
    );
  });

  it('a corrupt image is named: the first one in probe order, however the decodes finish', async () => {
    const bad = mkdtempSync(join(tmpdir(), 'bad-'));
    const broken = Buffer.from('\x89PNG\r\n\x1a\n but then nothing');
    writeFileSync(join(bad, 'broken.png'), broken);
    const probe = await open(`images:${bad}`, x34);
    await expect(probe.read(0, 1)).rejects.toThrow(`${join(bad, 'broken.png')}: not a readable image`);
    // First in order a big PNG cut short (fails late, after decoding rows), then ones that fail at once.
    const noisy = Buffer.from(Array.from({ length: 1200 * 1200 * 3 }, (_, i) => (i * 7919) % 251));
    const big = await raw(noisy, 1200, 1200, 3).png({ compressionLevel: 0 }).toBuffer();
    writeFileSync(join(bad, 'a-cut.png'), big.subarray(0, Math.floor(big.length * 0.9)));
    for (const name of ['c.png', 'd.png', 'e.png']) writeFileSync(join(bad, name), broken);
    const mixed = await open(`images:${bad}`, x34);
    for (let round = 0; round < 3; round++) {
      await expect(mixed.read(0, 5)).rejects.toThrow(`${join(bad, 'a-cut.png')}: not a readable image`);
    }
  });
});
