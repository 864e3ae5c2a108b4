import { afterAll, describe, expect, it } from 'vitest';
import { copyFileSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ActivationEngine } from '../../app/engine/activations/engine.js';
import { ExtractDirSink } from '../../app/engine/activations/extract-dir.js';
import type { ActivationSink, ExtractionInfo, LayerBatch } from '../../app/engine/activations/types.js';
import { readNpy } from '../../app/engine/io/npy.js';
import { decodeModel, encodeModel } from '../../app/engine/onnx/codec.js';
import { faultLauncher } from '../helpers/faults.js';
import { readFileSync } from 'node:fs';

const models = new URL('../fixtures/models/', import.meta.url).pathname;
const tinyCnn = join(models, 'tiny_cnn.onnx');
const tmp = () => mkdtempSync(join(tmpdir(), 'extract-'));

/** Records every call, and keeps each layer's rows. */
class RecordingSink implements ActivationSink {
  calls: string[] = [];
  info: ExtractionInfo | null = null;
  rows = new Map<string, Float32Array>();
  begin(info: ExtractionInfo) {
    this.info = info;
    this.calls.push(`begin ${info.layers.length} ${info.probe.n}`);
    for (const l of info.layers) this.rows.set(l.tensor, new Float32Array(info.probe.n * l.features));
  }
  write(b: LayerBatch) {
    this.calls.push(`write ${b.layer} ${b.rowOffset} ${b.rows}`);
    expect(b.data.length).toBe(b.rows * b.features);
    this.rows.get(b.tensor)!.set(b.data, b.rowOffset * b.features);
  }
  finish() {
    this.calls.push('finish');
  }
  abort() {
    this.calls.push('abort');
  }
}

function maxRelativeDiff(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / Math.max(scale, 1e-30);
}

const engine = new ActivationEngine({ cacheDir: tmp() });
afterAll(() => engine.close());

describe('extraction', () => {
  it('streams every layer of every batch in probe order: calibration 2 + 3, then pipelined batches', async () => {
    const sink = new RecordingSink();
    const progress: number[] = [];
    const result = await engine.extract(
      { model: tinyCnn, probe: 'random:37:1', layers: 'op:Relu,Gemm' },
      { sinks: [sink], batchSize: 8, onProgress: (p) => progress.push(p.examplesDone) },
    );
    expect(result.layers.map((l) => [l.name, l.shape, l.features])).toEqual([
      ['stage1.relu', [4, 28, 28], 3136],
      ['stage2.relu', [8, 14, 14], 1568],
      ['head', [10], 10],
    ]);
    const offsets = [0, 2, 5, 13, 21, 29];
    const sizes = [2, 3, 8, 8, 8, 8];
    expect(sink.calls).toEqual([
      'begin 3 37',
      ...offsets.flatMap((o, k) => [0, 1, 2].map((layer) => `write ${layer} ${o} ${sizes[k]}`)),
      'finish',
    ]);
    expect(progress).toEqual([2, 5, 13, 21, 29, 37]);
    expect(result.batches).toBe(6);
    expect(result.probe).toMatchObject({ spec: 'random:37:1', n: 37 });

    // The same rows in one batch of 37 (the batch size does not change an example's values beyond rounding).
    const whole = new RecordingSink();
    await engine.extract(
      { model: tinyCnn, probe: 'random:37:1', layers: 'op:Relu,Gemm' },
      { sinks: [whole], batchSize: 37 },
    );
    for (const [tensor, rows] of sink.rows) expect(maxRelativeDiff(rows, whole.rows.get(tensor)!)).toBeLessThan(1e-6);
  });

  it('the runner writing the .npy files itself gives the files written here, byte for byte; a NaN layer leaves none', async () => {
    const request = { model: tinyCnn, probe: 'random:37:1', layers: 'op:Relu,Gemm' };
    const here = tmp();
    const byRunner = tmp();
    await engine.extract(request, { sinks: [new ExtractDirSink(here)], batchSize: 8 });
    const result = await engine.extract(request, {
      sinks: [new ExtractDirSink(byRunner, { byRunner: true })],
      batchSize: 8,
    });
    expect(result.batches).toBe(6);
    const files = readdirSync(here).sort();
    expect(readdirSync(byRunner).sort()).toEqual(files);
    expect(files).toHaveLength(4); // three layers and the manifest
    for (const f of files) expect(readFileSync(join(byRunner, f)).equals(readFileSync(join(here, f)))).toBe(true);

    const nanModel = join(models, 'nan_sqrt.onnx');
    const failed = tmp();
    await expect(
      engine.extract(
        { model: nanModel, probe: 'random:20:5', layers: 'sqrt' },
        { sinks: [new ExtractDirSink(failed, { byRunner: true })] },
      ),
    ).rejects.toMatchObject({ code: 'NUMERIC', message: expect.stringContaining("layer 'sqrt' (tensor root)") });
    expect(readdirSync(failed)).toEqual([]);
    const counted = async (sink: ExtractDirSink) =>
      (
        await engine.extract(
          { model: nanModel, probe: 'random:20:5', layers: 'sqrt' },
          { sinks: [sink], nonFinite: 'report' },
        )
      ).nonFinite;
    expect(await counted(new ExtractDirSink(tmp(), { byRunner: true }))).toEqual(
      await counted(new ExtractDirSink(tmp())),
    );
  });

  it("a full disk under the runner's writes fails DISK_FULL naming the file, and leaves no file", async () => {
    const launcher = faultLauncher();
    launcher.fullDisk = /\.npy$/;
    const faulty = new ActivationEngine({ runnerOptions: { launcher } });
    const out = tmp();
    try {
      const run = faulty.extract(
        { model: tinyCnn, probe: 'random:37:1', layers: 'op:Relu' },
        { sinks: [new ExtractDirSink(out, { byRunner: true })], batchSize: 8 },
      );
      await expect(run).rejects.toMatchObject({ code: 'DISK_FULL' });
      const [file] = launcher.fullDiskHits;
      await expect(run).rejects.toMatchObject({ message: `${file}: no space left on device` });
      expect(file!.startsWith(out)).toBe(true);
      expect(readdirSync(out)).toEqual([]);
    } finally {
      await faulty.close();
    }
  });

  it('works for a probe of one example', async () => {
    const sink = new RecordingSink();
    const result = await engine.extract({ model: tinyCnn, probe: 'random:1', layers: 'op:Relu' }, { sinks: [sink] });
    expect(result.batches).toBe(1);
    expect(sink.calls).toEqual(['begin 2 1', 'write 0 0 1', 'write 1 0 1', 'finish']);
  });

  it('chooses a batch size from memory when none is given', async () => {
    const result = await engine.extract({ model: tinyCnn, probe: 'random:300', layers: 'preset:blocks' });
    expect(result.batchSize).toBe(256);
    expect(result.batches).toBe(4); // calibration 2 + 3, then 256 + 39
  });

  it('cancelling mid-run rejects with CANCELLED and leaves no file in the output directory', async () => {
    const out = tmp();
    const controller = new AbortController();
    const run = engine.extract(
      { model: tinyCnn, probe: 'random:400', layers: 'all' },
      {
        sinks: [new ExtractDirSink(out)],
        batchSize: 16,
        onProgress: () => controller.abort(),
        signal: controller.signal,
      },
    );
    await expect(run).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(readdirSync(out)).toEqual([]);
    // The runner goes on.
    expect((await engine.extract({ model: tinyCnn, probe: 'random:3', layers: 'logits' })).layers).toHaveLength(1);
  });

  it('names the layer with NaN/Inf, or reports the counts when asked', async () => {
    const nanModel = join(models, 'nan_sqrt.onnx');
    await expect(engine.extract({ model: nanModel, probe: 'random:20:5', layers: 'all' })).rejects.toMatchObject({
      code: 'NUMERIC',
      message: expect.stringMatching(
        /nan_sqrt\.onnx: layer 'sqrt' \(tensor root\) has non-finite activations \(\d+ NaN, 0 ±Inf so far; first in example 0\)/,
      ),
    });
    const result = await engine.extract(
      { model: nanModel, probe: 'random:20:5', layers: 'sqrt' },
      { nonFinite: 'report' },
    );
    // Half the Gaussian inputs are negative: about 20 × 4 / 2 NaN square roots.
    expect(result.nonFinite.root!.nan).toBeGreaterThan(20);
    expect(result.nonFinite.root!.inf).toBe(0);
  });

  it('a fixed-batch model gets batches of its size, the last one padded', async () => {
    const model = decodeModel(readFileSync(tinyCnn), 'tiny');
    for (const v of [model.graph!.input[0]!, model.graph!.output[0]!]) {
      const t = v.type!.value as { value: { shape: { dim: { value: unknown }[] } } };
      t.value.shape.dim[0]!.value = { case: 'dimValue', value: 3n };
    }
    const fixed = join(tmp(), 'tiny_fixed3.onnx');
    writeFileSync(fixed, encodeModel(model));
    const a = new RecordingSink();
    const result = await engine.extract(
      { model: fixed, probe: 'random:7:2', layers: 'op:Relu' },
      { sinks: [a], batchSize: 5 },
    );
    expect(result.batchSize).toBe(3);
    expect(result.notes).toContain('the model takes batches of exactly 3; batch size 5 was not used');
    expect(a.calls.filter((c) => c.startsWith('write 0'))).toEqual(['write 0 0 3', 'write 0 3 3', 'write 0 6 1']);
    const b = new RecordingSink();
    await engine.extract({ model: tinyCnn, probe: 'random:7:2', layers: 'op:Relu' }, { sinks: [b] });
    for (const [tensor, rows] of a.rows) expect(maxRelativeDiff(rows, b.rows.get(tensor)!)).toBeLessThan(1e-6);
  });

  it('external-data models extract like the same weights stored inline; a missing data file is named', async () => {
    const inline = new RecordingSink();
    const external = new RecordingSink();
    await engine.extract({ model: tinyCnn, probe: 'random:6', layers: 'all' }, { sinks: [inline] });
    await engine.extract(
      { model: join(models, 'tiny_cnn_external.onnx'), probe: 'random:6', layers: 'all' },
      { sinks: [external] },
    );
    expect([...external.rows.keys()]).toEqual([...inline.rows.keys()]);
    for (const [tensor, rows] of inline.rows) expect(external.rows.get(tensor)).toEqual(rows);
    const alone = join(tmp(), 'tiny_cnn_external.onnx');
    copyFileSync(join(models, 'tiny_cnn_external.onnx'), alone);
    await expect(engine.extract({ model: alone, probe: 'random:2' })).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: `${alone}: its weights are stored in 'tiny_cnn_external.weights' next to it, and that file is missing`,
    });
  });

  it('takes the examples from another axis when they are there, lists the rest as omitted, and refuses them by name', async () => {
    const attention = join(models, 'tiny_attention.onnx');
    const sink = new RecordingSink();
    const result = await engine.extract({ model: attention, probe: 'random:5', layers: 'all' }, { sinks: [sink] });
    const layer = (t: string) => result.layers.find((l) => l.tensor === t);
    expect(layer('/ln1/LayerNormalization_output_0')).toBeDefined();
    // [8, batch, 32] and the stacked q/k/v [3, batch, 4, 8, 8]: the examples are their second axis.
    expect(layer('/seq_first_norm/LayerNormalization_output_0')).toMatchObject({ shape: [8, 32] });
    expect(layer('/attn/Transpose_output_0')).toMatchObject({ shape: [3, 4, 8, 8] });
    // /Transpose is [8, batch, 32] = /Add_1 [batch, 8, 32] with its first axes swapped: its
    // examples taken from axis 1 are /Add_1's rows exactly.
    expect(sink.rows.get('/Transpose_output_0')).toEqual(sink.rows.get('/Add_1_output_0'));
    // Scalars (the softmax scale) are left out, each with its reason.
    const scalars = result.omitted.filter((o) => /it is a scalar/.test(o.reason));
    expect(scalars.map((o) => o.tensor)).toContain('/attn/Cast_2_output_0');
    expect(result.notes.some((n) => n.startsWith('left out '))).toBe(true);
    await expect(
      engine.extract({ model: attention, probe: 'random:5', layers: '/attn/Cast_2_output_0' }),
    ).rejects.toMatchObject({
      code: 'BAD_INPUT',
      message: expect.stringMatching(
        /tensor \/attn\/Cast_2_output_0\): it is a scalar .* so it cannot be split per example$/,
      ),
    });
  });
});

describe('activation cache', () => {
  it('extracts only missing layers, reuses the rest, and the files hold the streamed rows', async () => {
    const request = { model: tinyCnn, probe: 'random:9:4', layers: 'op:Relu' };
    const first = await engine.cached(request);
    expect(first.extracted).toEqual(['/stage1/relu/Relu_output_0', '/stage2/relu/Relu_output_0']);
    const again = await engine.cached(request);
    expect(again.extracted).toEqual([]);
    expect(again.layers.map((l) => l.path)).toEqual(first.layers.map((l) => l.path));
    const more = await engine.cached({ ...request, layers: 'op:Relu,Gemm' });
    expect(more.extracted).toEqual(['logits']);
    expect(more.layers.map((l) => l.tensor)).toEqual([
      '/stage1/relu/Relu_output_0',
      '/stage2/relu/Relu_output_0',
      'logits',
    ]);
    const streamed = new RecordingSink();
    await engine.extract({ ...request, layers: 'op:Relu,Gemm' }, { sinks: [streamed] });
    for (const layer of more.layers) {
      const npy = await readNpy(layer.path);
      expect(npy.header.shape).toEqual([9, layer.features]);
      expect(maxRelativeDiff(npy.data as Float32Array, streamed.rows.get(layer.tensor)!)).toBeLessThan(1e-6);
    }
    // Another probe is another entry.
    expect((await engine.cached({ ...request, probe: 'random:9:5' })).extracted).toHaveLength(2);
  });

  it('a probe file that changed between runs is a new entry, never a stale hit', async () => {
    const dir = tmp();
    const probeFile = join(dir, 'x.npy');
    const { encodeNpy } = await import('../../app/engine/io/npy.js');
    const x = new Float32Array(3 * 784).map((_, i) => Math.cos(i));
    writeFileSync(probeFile, encodeNpy(x, [3, 1, 28, 28]));
    const request = { model: tinyCnn, probe: `npy:${probeFile}`, layers: 'logits' };
    const first = await engine.cached(request);
    expect((await engine.cached(request)).extracted).toEqual([]);
    x[5] = 7;
    writeFileSync(probeFile, encodeNpy(x, [3, 1, 28, 28]));
    const changed = await engine.cached(request);
    expect(changed.extracted).toEqual(['logits']);
    expect(changed.probe.hash).not.toBe(first.probe.hash);
    expect(changed.layers[0]!.path).not.toBe(first.layers[0]!.path);
  });
});
