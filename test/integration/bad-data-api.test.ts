/**
 * Bad data through the experiments API (issue 8 §3): NaN and ±Inf activations and constant layers
 * give undefined cells naming the layer and the reason (the other cells stay numbers); a probe too
 * small for a measure fails at once, saying which; image folders of mixed sizes and modes are read
 * (a decompression bomb is refused by name); a probe file or a model file that changes — between
 * runs, or during one — is never mistaken for the old one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { create } from '@bufbuild/protobuf';
import { copyFileSync, mkdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import type { ExperimentSpec, SimilarityMatrix } from '../../app/common/contract.js';
import { createWorkbench, type Workbench } from '../../app/api/workbench.js';
import { encodeModel } from '../../app/engine/onnx/codec.js';
import { ModelProtoDesc } from '../../app/engine/onnx/schema.js';
import { encodeNpy } from '../../app/engine/io/npy.js';
import { openProbe } from '../../app/engine/probe/open-probe.js';
import { Store } from '../../app/engine/store/store.js';
import { removeTempDataDirs, runExperimentToEnd, tempDataDir, zoo } from '../helpers/experiments.js';
import { fixturesDir } from '../helpers/paths.js';

let api: Workbench;
let dataDir: string;
let files: string;

beforeAll(() => {
  dataDir = tempDataDir('ckawb-bad-data-');
  files = join(dataDir, 'uploads', 'bad-data');
  mkdirSync(files, { recursive: true });
  api = createWorkbench({ dataDir, threads: 1 });
});

afterAll(async () => {
  await api?.close();
  removeTempDataDirs();
});

async function run(spec: ExperimentSpec, onEvent?: (e: Parameters<Parameters<Workbench['subscribe']>[0]>[0]) => void) {
  for (const m of spec.models) await api.openModel({ path: m.path });
  const experiment = await api.createExperiment({ spec });
  const off = onEvent ? api.subscribe(onEvent) : () => undefined;
  try {
    return await runExperimentToEnd(api, experiment.id);
  } finally {
    off();
  }
}

/**
 * x [batch, 4] → abs, sqrt (NaN for negative x), 200·x, exp(200·x) (+Inf for x > 0.45),
 * 0·x (constant 0), 0·x + 1 (constant 1), relu, and a linear head.
 */
function badValuesModel(): Uint8Array {
  const node = (op: string, input: string[], output: string, name: string) => ({
    opType: op,
    input,
    output: [output],
    name,
  });
  const scalar = (name: string, value: number) => ({ name, dims: [], dataType: 1, floatData: [value] });
  const tensorType = (dims: (string | number)[]) => ({
    value: {
      case: 'tensorType',
      value: {
        elemType: 1,
        shape: {
          dim: dims.map((d) =>
            typeof d === 'string'
              ? { value: { case: 'dimParam', value: d } }
              : { value: { case: 'dimValue', value: BigInt(d) } },
          ),
        },
      },
    },
  });
  const model = create(ModelProtoDesc, {
    irVersion: 8n,
    producerName: 'bad-data-api.test',
    opsetImport: [{ domain: '', version: 13n }],
    graph: {
      name: 'bad values',
      node: [
        node('Abs', ['x'], 'abs', '/abs/Abs'),
        node('Sqrt', ['x'], 'root', '/root/Sqrt'),
        node('Mul', ['x', 'c200'], 'scaled', '/scaled/Mul'),
        node('Exp', ['scaled'], 'big', '/big/Exp'),
        node('Mul', ['x', 'c0'], 'zero', '/zero/Mul'),
        node('Add', ['zero', 'c1'], 'ones', '/ones/Add'),
        node('Relu', ['x'], 'relu', '/relu/Relu'),
        node('MatMul', ['relu', 'w'], 'y', '/head/MatMul'),
      ],
      initializer: [
        scalar('c200', 200),
        scalar('c0', 0),
        scalar('c1', 1),
        { name: 'w', dims: [4n, 2n], dataType: 1, floatData: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8] },
      ],
      input: [{ name: 'x', type: tensorType(['batch', 4]) }],
      output: [{ name: 'y', type: tensorType(['batch', 2]) }],
    },
  } as never);
  return encodeModel(model as never);
}

function cell(m: SimilarityMatrix, row: number, col: number) {
  return { value: m.matrix[row]![col], reason: m.undefined.find((u) => u.row === row && u.col === col)?.reason };
}

describe('bad data through the API', () => {
  it('NaN, ±Inf and constant layers give undefined cells naming the layer and why; the rest are numbers', async () => {
    const path = join(files, 'bad-values.onnx');
    writeFileSync(path, badValuesModel());
    const details = await run({
      name: 'bad values',
      kind: 'self',
      models: [{ path }],
      probe: 'random:40:3',
      layers: 'all',
      measures: ['linear', 'rbf:0.5', 'debiased', 'minibatch:10'],
    });
    expect(details.run.status).toBe('done');
    const layers = details.result!.models[0]!.layers.map((l) => l.name);
    expect(layers).toEqual(['abs', 'root', 'scaled', 'big', 'zero', 'ones', 'relu', 'head']);
    const bad: Record<string, RegExp> = {
      root: /^layer 'root' has non-finite activations \(NaN at example \d+, feature \d+\)$/,
      big: /^layer 'big' has non-finite activations \(\+?Inf(inity)? at example \d+, feature \d+\)$/,
      zero: /^layer 'zero' is constant on these examples \(zero variance\), so its CKA is undefined$/,
      ones: /^layer 'ones' is constant on these examples \(zero variance\), so its CKA is undefined$/,
    };
    expect(details.result!.matrices.map((m) => m.measure.name)).toEqual(['linear', 'rbf', 'debiased', 'minibatch']);
    for (const m of details.result!.matrices) {
      for (let r = 0; r < layers.length; r++) {
        for (let c = 0; c < layers.length; c++) {
          const { value, reason } = cell(m, r, c);
          const culprit = [layers[r]!, layers[c]!].find((name) => name in bad);
          if (culprit) {
            expect(value, `${m.measure.name} ${layers[r]} × ${layers[c]}`).toBeNull();
            expect(reason, `${m.measure.name} ${layers[r]} × ${layers[c]}`).toMatch(bad[culprit]!);
          } else {
            expect(reason).toBeUndefined();
            expect(Number.isFinite(value)).toBe(true);
            if (r === c) expect(value as number).toBeCloseTo(1, 5);
          }
        }
      }
      // A self matrix stays symmetric around the undefined cells.
      for (let r = 0; r < layers.length; r++) {
        for (let c = 0; c < r; c++) {
          const [a, b] = [cell(m, r, c).value, cell(m, c, r).value];
          if (a === null) expect(b).toBeNull();
          else expect(a).toBeCloseTo(b as number, 6);
        }
      }
    }
    // Exports keep the undefined cells empty, not zero or NaN.
    const csv = await api.exportRun({ runId: details.run.id, format: 'csv' });
    expect(csv.data).not.toMatch(/NaN|Infinity/);
  }, 120_000);

  it('every layer of an attention model: scalars are omitted with the reason, everything else compared', async () => {
    const path = join(files, 'tiny_attention.onnx');
    copyFileSync(join(fixturesDir, 'models', 'tiny_attention.onnx'), path);
    const summary = await api.openModel({ path });
    const details = await run({
      name: 'attention, all layers',
      kind: 'self',
      models: [{ path }],
      probe: 'random:12',
      layers: 'all',
      measures: ['linear'],
    });
    expect(details.run.status).toBe('done');
    const model = details.result!.models[0]!;
    const layers = model.layers.map((l) => l.tensor);
    // The softmax scale (a scalar) is no layer of examples; the stacked q/k/v tensor [3, batch, …]
    // is, on its second axis.
    expect(layers).not.toContain('/attn/Cast_2_output_0');
    expect(model.omitted!.find((o) => o.tensor === '/attn/Cast_2_output_0')!.reason).toMatch(/it is a scalar/);
    expect(layers).toContain('/attn/Transpose_output_0');
    expect(layers).toContain('/attn/softmax/Softmax_output_0');
    // No layer dropped in silence.
    expect(layers.length + model.omitted!.length).toBe(summary.layers.length);
    const matrix = details.result!.matrices[0]!.matrix;
    expect(matrix.flat().every((v) => v !== null && Number.isFinite(v))).toBe(true);
  }, 120_000);

  it('a probe too small for a measure fails in the prepare stage, naming the measure', async () => {
    const model = zoo('plain-d1-s0');
    const cases: [string, string[], RegExp][] = [
      [
        'random:3',
        ['linear', 'debiased'],
        /^probe random:3:0 has 3 examples; the measure 'debiased' needs at least 4 \(HSIC₁ divides by n\(n−3\)\)$/,
      ],
      [
        'random:6',
        ['minibatch:8'],
        /^probe random:6:0 has 6 examples; the measure 'minibatch:8' needs at least 8 \(one batch of 8\)$/,
      ],
      ['random:1', ['linear'], /^probe random:1:0 has 1 example; the measure 'linear' needs at least 2/],
    ];
    for (const [probe, measures, message] of cases) {
      const progress: string[] = [];
      const details = await run(
        { name: `small probe ${probe}`, kind: 'self', models: [{ path: model }], probe, layers: 'op:Relu', measures },
        (e) => void (e.type === 'progress' && progress.push(e.progress.stage)),
      );
      expect(details.run.status).toBe('failed');
      expect(details.run.error!.code).toBe('BAD_PROBE');
      expect(details.run.error!.message).toMatch(message);
      // Nothing was extracted for it.
      expect(progress.every((stage) => stage === 'prepare')).toBe(true);
    }
    // Three examples are enough for linear CKA.
    const three = await run({
      name: 'three examples',
      kind: 'self',
      models: [{ path: model }],
      probe: 'random:3',
      layers: 'op:Relu',
      measures: ['linear'],
    });
    expect(three.run.status).toBe('done');
    expect(three.result!.probe.n).toBe(3);
  }, 120_000);

  it('reads a folder of images of mixed sizes and modes, and refuses a decompression bomb by name', async () => {
    const dir = join(files, 'images');
    mkdirSync(dir, { recursive: true });
    const colour = (width: number, height: number, channels: 3 | 4, background: Record<string, number>) =>
      sharp({ create: { width, height, channels, background } as never });
    await sharp(new Uint16Array(6 * 5).fill(0x8000), { raw: { width: 6, height: 5, channels: 1 } as never })
      .toColourspace('grey16')
      .png()
      .toFile(join(dir, 'a-gray16.png'));
    await colour(40, 30, 3, { r: 10, g: 200, b: 30 }).png().toFile(join(dir, 'b-rgb.png'));
    await colour(10, 3, 4, { r: 255, g: 0, b: 0, alpha: 0.5 }).png().toFile(join(dir, 'c-rgba.png'));
    await colour(3, 9, 3, { r: 0, g: 128, b: 255 }).png({ palette: true }).toFile(join(dir, 'd-palette.png'));
    await colour(7, 7, 3, { r: 90, g: 90, b: 90 }).grayscale().jpeg({ quality: 100 }).toFile(join(dir, 'e-gray.jpg'));
    await colour(20, 10, 3, { r: 0, g: 0, b: 250 })
      .jpeg({ quality: 100 })
      .withMetadata({ orientation: 6 })
      .toFile(join(dir, 'f-rotated.JPG'));
    await colour(1, 1, 3, { r: 255, g: 255, b: 255 }).png().toFile(join(dir, 'g-one-pixel.png'));
    await colour(300, 2, 3, { r: 128, g: 64, b: 32 }).png().toFile(join(dir, 'h-wide.png'));
    writeFileSync(join(dir, 'readme.txt'), 'not an image');
    const bnCnn = join(files, 'bn_cnn.onnx');
    copyFileSync(join(fixturesDir, 'models', 'bn_cnn.onnx'), bnCnn);
    await api.openModel({ path: bnCnn });
    const info = await api.openProbe({ spec: `images:${dir}`, model: bnCnn });
    expect(info).toMatchObject({ kind: 'images', n: 8, exampleShape: [3, 16, 16] });
    expect(info.notes).toEqual([expect.stringMatching(/^skipped 1 entry /)]);
    // Each image is one example with the colour it has, whatever its size, depth or mode.
    const probe = await openProbe(`images:${dir}`, { name: 'input', shape: ['batch', 3, 16, 16], dtype: 'float32' });
    const values = await probe.read(0, 8);
    await probe.close();
    const rgbOf = (k: number) => [0, 1, 2].map((ch) => values[k * 768 + ch * 256 + 8 * 16 + 8]!);
    const expected = [
      [0.5, 0.5, 0.5], // 16-bit gray 0x8000
      [10 / 255, 200 / 255, 30 / 255],
      [1, 0, 0], // alpha dropped
      [0, 128 / 255, 1],
      [90 / 255, 90 / 255, 90 / 255],
      [0, 0, 250 / 255],
      [1, 1, 1],
      [128 / 255, 64 / 255, 32 / 255],
    ];
    expected.forEach((rgb, k) =>
      rgbOf(k).forEach((v, ch) => expect(v, `image ${k} channel ${ch}`).toBeCloseTo(rgb[ch]!, 1)),
    );
    const details = await run({
      name: 'mixed images',
      kind: 'self',
      models: [{ path: bnCnn }],
      probe: `images:${dir}`,
      layers: 'op:Relu',
      measures: ['linear'],
    });
    expect(details.run.status).toBe('done');
    expect(details.result!.probe.n).toBe(8);

    // A PNG whose header claims 100 000 × 100 000 pixels (tens of GB decoded) next to good images.
    writeFileSync(join(dir, 'z-bomb.png'), pngClaiming(100_000, 100_000));
    const bomb = await run({
      name: 'images with a bomb',
      kind: 'self',
      models: [{ path: bnCnn }],
      probe: `images:${dir}`,
      layers: 'op:Relu',
      measures: ['linear'],
    });
    expect(bomb.run.status).toBe('failed');
    expect(bomb.run.error!.code).toBe('BAD_PROBE');
    expect(bomb.run.error!.message).toContain(`${join(dir, 'z-bomb.png')}: not a readable image`);
  }, 120_000);

  it('a probe file that changes between runs is a new probe: extracted again, never the old activations', async () => {
    const model = zoo('plain-d1-s0');
    const path = join(files, 'probe.npy');
    const examples = (seed: number) => {
      const data = new Float32Array(64 * 784);
      for (let i = 0; i < data.length; i++) data[i] = Math.sin(i * 0.37 + seed) * Math.cos(i * 0.011 * seed);
      return encodeNpy(data, [64, 1, 28, 28]);
    };
    writeFileSync(path, examples(1));
    const spec: ExperimentSpec = {
      name: 'changing probe',
      kind: 'self',
      models: [{ path: model }],
      probe: `npy:${path}`,
      layers: 'op:Relu',
      measures: ['linear'],
    };
    await api.openProbe({ spec: spec.probe, model });
    const first = await run(spec);
    expect(first.run.status).toBe('done');
    // Same size, same modification time, different values: only the content can tell.
    const { atime, mtime, size } = statSync(path);
    writeFileSync(path, examples(2));
    utimesSync(path, atime, mtime);
    expect(statSync(path).size).toBe(size);
    const second = await runExperimentToEnd(api, first.run.experimentId);
    expect(second.run.status).toBe('done');
    expect(second.result!.probe.hash).not.toBe(first.result!.probe.hash);
    expect(second.result!.provenance.work).toMatchObject({
      activationsExtracted: 3,
      activationsReused: 0,
      pairsReused: 0,
      pairsComputed: 1,
    });
    expect(second.result!.matrices[0]!.matrix).not.toEqual(first.result!.matrices[0]!.matrix);
    // The numbers are those of the new file, as a fresh workbench computes them.
    const fresh = createWorkbench({ dataDir: tempDataDir('ckawb-bad-data-fresh-'), threads: 1 });
    try {
      await fresh.openModel({ path: model });
      await fresh.openProbe({ spec: spec.probe, model });
      const experiment = await fresh.createExperiment({ spec });
      const clean = await runExperimentToEnd(fresh, experiment.id);
      expect(clean.result!.matrices[0]!.matrix).toEqual(second.result!.matrices[0]!.matrix);
    } finally {
      await fresh.close();
    }
    // Back to the first content: the first probe's results come back (same hash, same numbers).
    writeFileSync(path, examples(1));
    const third = await runExperimentToEnd(api, first.run.experimentId);
    expect(third.result!.probe.hash).toBe(first.result!.probe.hash);
    expect(third.result!.matrices).toEqual(first.result!.matrices);
  }, 120_000);

  it('a probe file or a model file replaced during a run fails the run naming it, and caches nothing of it', async () => {
    const probePath = join(files, 'during.npy');
    const data = new Float32Array(200 * 784).map((_, i) => Math.cos(i * 0.05));
    writeFileSync(probePath, encodeNpy(data, [200, 1, 28, 28]));
    const modelPath = join(files, 'during.onnx');
    copyFileSync(zoo('plain-d1-s1'), modelPath);
    const spec: ExperimentSpec = {
      name: 'replaced during the run',
      kind: 'self',
      models: [{ path: modelPath }],
      probe: `npy:${probePath}`,
      layers: 'op:Relu',
      measures: ['linear'],
    };
    await api.openProbe({ spec: spec.probe, model: modelPath });
    const activationEntries = async () => {
      const store = await Store.open(dataDir);
      try {
        return (
          store.db.prepare("SELECT COUNT(*) AS n FROM cache_entries WHERE kind = 'activation'").get() as {
            n: number;
          }
        ).n;
      } finally {
        store.close();
      }
    };
    const entriesBefore = await activationEntries();
    for (const replace of ['probe', 'model'] as const) {
      let replaced = false;
      const details = await run({ ...spec, name: `${spec.name}: ${replace}` }, (e) => {
        // The moment the extraction starts, between the plan and the model being opened again.
        if (!replaced && e.type === 'progress' && e.progress.stage === 'extract') {
          replaced = true;
          if (replace === 'probe')
            writeFileSync(
              probePath,
              encodeNpy(
                data.map((v) => -v),
                [200, 1, 28, 28],
              ),
            );
          else copyFileSync(zoo('plain-d1-s2'), modelPath);
        }
      });
      expect(replaced).toBe(true);
      expect(details.run.status).toBe('failed');
      expect(details.run.error!.message).toMatch(/changed/);
      expect(['BAD_INPUT', 'BAD_MODEL', 'BAD_PROBE']).toContain(details.run.error!.code);
      expect(details.result!.matrices).toEqual([]);
    }
    // Neither failed run left a cache entry.
    expect(await activationEntries()).toBe(entriesBefore);
    // With the file as it is now, the experiment's pinned sha256 no longer matches: refused, named.
    const again = await api.listExperiments({});
    const pinned = again.find((e) => e.name === `${spec.name}: model`)!;
    const rerun = await runExperimentToEnd(api, pinned.id);
    expect(rerun.run.error).toMatchObject({ code: 'BAD_MODEL' });
    expect(rerun.run.error!.message).toMatch(
      /during\.onnx: the file's sha256 is [0-9a-f]{12}…, but the experiment expects/,
    );
  }, 120_000);
});

/** A PNG with only a header that claims `width` × `height` RGB pixels, and a few bytes of data. */
function pngClaiming(width: number, height: number): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (bytes: Buffer) => {
    let c = 0xffffffff;
    for (const b of bytes) c = crcTable[(c ^ b) & 0xff]! ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const out = Buffer.alloc(8 + data.length + 4);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc(body), 8 + data.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, deflate, no filter, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.alloc(1024))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
