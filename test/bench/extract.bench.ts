/**
 * `npm run bench -- extract`: extraction with every ReLU output exposed against plain inference of
 * the same model on the same probe, batch size and onnxruntime settings, in one run.
 *
 *   plain, in-process   the untouched model in an ORT session of this process, logits only
 *   plain, runner       the untouched model through the runner process (the app's real path), logits only
 *   extract → sinks     engine.extract, op:Relu, rows handed to a sink that only counts them
 *   extract → .npy      the same, written to an extract directory (incremental .npy + manifest)
 *
 * Models: the zoo's plain CNNs (models/zoo/plain-d1-s0.onnx and plain-d4-s0.onnx, those present; 28×28
 * Fashion-MNIST, fashion-mnist:5000) — tiny and memory-bound: every ReLU output is many bytes per
 * flop — and the narrowed ResNet-18 fixture on random:5000, where compute dominates.
 * Set EXTRACT_BENCH_MODELS=a.onnx,b.onnx (and EXTRACT_BENCH_PROBE) to bench other models.
 * Each figure is the median of 3 runs after a warm-up. Then peak memory of one extraction of
 * 2,000 and of 20,000 random examples (fresh runner each), which must not grow with n.
 *
 * Then the zoo's ViT (models/zoo/vit-s0.onnx, fashion-mnist:5000): its blocks' residual sums and
 * attention maps ([batch·4, 17, 17], regrouped) extracted as they are (`flatten`) and averaged over
 * the 17 tokens (`mean`), reduced in the runner process: bytes that cross the process boundary and
 * time, against plain inference through the runner.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { ActivationEngine } from '../../app/engine/activations/engine.js';
import { ExtractDirSink } from '../../app/engine/activations/extract-dir.js';
import type { ActivationSink } from '../../app/engine/activations/types.js';
import { loadModel } from '../../app/engine/onnx/model-file.js';
import { openProbe } from '../../app/engine/probe/open-probe.js';
import { sessionOptions } from '../../app/engine/runner/session-options.js';

const REPEATS = 3;
const BATCH = 128;
const root = new URL('../../', import.meta.url).pathname;

/** Models with the probe each runs on. */
function workload(): { model: string; probe: string }[] {
  if (process.env.EXTRACT_BENCH_MODELS) {
    const probe = process.env.EXTRACT_BENCH_PROBE ?? 'random:5000';
    return process.env.EXTRACT_BENCH_MODELS.split(',').map((model) => ({ model, probe }));
  }
  const resnet = { model: join(root, 'test', 'fixtures', 'models', 'resnet18_narrow.onnx'), probe: 'random:5000' };
  if (!existsSync(join(root, 'models', 'zoo.json'))) return [resnet];
  const zoo = ['plain-d1-s0', 'plain-d4-s0']
    .map((m) => join(root, 'models', 'zoo', `${m}.onnx`))
    .filter(existsSync)
    .map((model) => ({ model, probe: 'fashion-mnist:5000' }));
  return [...zoo, resnet];
}

async function median(run: () => Promise<unknown>): Promise<number> {
  await run(); // warm-up: session creation paths, page cache, JIT
  const times: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    const t0 = performance.now();
    await run();
    times.push(performance.now() - t0);
  }
  return times.sort((a, b) => a - b)[Math.floor(REPEATS / 2)]!;
}

class CountingSink implements ActivationSink {
  values = 0;
  write(batch: { data: Float32Array }) {
    this.values += batch.data.length;
  }
}

async function benchModel(engine: ActivationEngine, modelPath: string, probeSpec: string): Promise<void> {
  const { facts } = await loadModel(modelPath);
  const bytes = readFileSync(modelPath);
  const threads = engine.runner.intraOpThreads;

  // Plain inference in this process: the same session options as the runner, the same probe batches.
  const session = await ort.InferenceSession.create(
    bytes,
    sessionOptions({ optimization: 'fast', intraOpThreads: threads }, root),
  );
  const inputMeta = session.inputMetadata[0]!;
  const outputName = session.outputNames[0]!;
  const input = {
    name: inputMeta.name,
    shape: [...(inputMeta as { shape: readonly (number | string)[] }).shape],
    dtype: 'float32',
  };
  const probe = await openProbe(probeSpec, input);
  const n = probe.n;
  const plainInProcess = await median(async () => {
    for (let start = 0; start < n; start += BATCH) {
      const count = Math.min(BATCH, n - start);
      const data = await probe.read(start, count);
      await session.run({ [input.name]: new ort.Tensor('float32', data, [count, ...probe.exampleShape]) }, [
        outputName,
      ]);
    }
  });
  await session.release();

  // Plain inference through the runner process: the untouched model, logits only.
  const plainRunner = await median(() =>
    engine.runner.withSession({ model: { path: facts.path, sha256: facts.sha256 } }, async (s) => {
      for (let start = 0; start < n; start += BATCH) {
        const count = Math.min(BATCH, n - start);
        const data = await probe.read(start, count);
        await s.run([{ name: input.name, type: 'float32', dims: [count, ...probe.exampleShape], data }], [outputName]);
      }
    }),
  );
  await probe.close();

  const request = { model: modelPath, probe: probeSpec, layers: 'op:Relu' };
  let layers = 0;
  let features = 0;
  const streamed = await median(async () => {
    const result = await engine.extract(request, { sinks: [new CountingSink()], batchSize: BATCH });
    layers = result.layers.length;
    features = result.layers.reduce((s, l) => s + l.features, 0);
  });
  const out = mkdtempSync(join(tmpdir(), 'extract-bench-'));
  const written = await median(() => engine.extract(request, { sinks: [new ExtractDirSink(out)], batchSize: BATCH }));
  const byRunner = await median(() =>
    engine.extract(request, { sinks: [new ExtractDirSink(out, { byRunner: true })], batchSize: BATCH }),
  );
  rmSync(out, { recursive: true, force: true });

  const mib = (n * features * 4) / 2 ** 20;
  console.log(
    `\n${basename(modelPath)} on ${probeSpec}: n = ${n}, batch ${BATCH}, ${threads} ORT thread(s), ${layers} ReLU outputs = ${features} features/example (${mib.toFixed(0)} MiB of activations)`,
  );
  const rows: [string, number][] = [
    ['plain inference, in-process', plainInProcess],
    ['plain inference, runner process', plainRunner],
    ['extract op:Relu → sink', streamed],
    ['extract op:Relu → .npy files', written],
    ['extract op:Relu → .npy by the runner', byRunner],
  ];
  for (const [what, ms] of rows) {
    const vsInProcess = (ms / plainInProcess).toFixed(2);
    const vsRunner = (ms / plainRunner).toFixed(2);
    console.log(
      `  ${what.padEnd(34)} ${ms.toFixed(0).padStart(7)} ms  ${Math.round((n / ms) * 1000)
        .toString()
        .padStart(7)} ex/s  ` + `×${vsInProcess} vs in-process  ×${vsRunner} vs runner`,
    );
  }
}

/** Peak resident memory of the host (sampled) and of a fresh runner process (VmHWM) for one extraction. */
async function peakMemory(modelPath: string, n: number): Promise<{ host: number; runner: number | null }> {
  const engine = new ActivationEngine();
  let host = 0;
  const timer = setInterval(() => (host = Math.max(host, process.memoryUsage().rss)), 5);
  try {
    await engine.extract(
      { model: modelPath, probe: `random:${n}`, layers: 'op:Relu' },
      { sinks: [new CountingSink()], batchSize: BATCH },
    );
    const pid = engine.runner.processes()[0]!.pid;
    const status = pid && existsSync(`/proc/${pid}/status`) ? readFileSync(`/proc/${pid}/status`, 'utf8') : '';
    const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
    return { host, runner: hwm ? Number(hwm[1]) * 1024 : null };
  } finally {
    clearInterval(timer);
    await engine.close();
  }
}

async function benchMemory(modelPath: string): Promise<void> {
  console.log(`\npeak memory, ${basename(modelPath)}, op:Relu, batch ${BATCH} (must not grow with n):`);
  for (const n of [2000, 20000]) {
    const { host, runner } = await peakMemory(modelPath, n);
    const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
    console.log(
      `  n = ${String(n).padStart(5)}: host ${mib(host)} (sampled RSS), runner process ${runner === null ? '?' : mib(runner)} (VmHWM)`,
    );
  }
}

/** A sink that counts the bytes of the rows it is handed (what crossed the process boundary). */
class ByteSink implements ActivationSink {
  bytes = 0;
  write(batch: { data: Float32Array }) {
    this.bytes += batch.data.byteLength;
  }
}

async function benchReductions(engine: ActivationEngine): Promise<void> {
  const model = join(root, 'models', 'zoo', 'vit-s0.onnx');
  if (!existsSync(model) || process.env.EXTRACT_BENCH_MODELS) return;
  const probe = 'fashion-mnist:5000';
  const blocks = [0, 1, 2, 3].flatMap((k) => [
    `/blocks.${k}/Add_output_0`,
    `/blocks.${k}/Add_1_output_0`,
    `/blocks.${k}/attn/softmax/Softmax_output_0`,
  ]);
  const layers = ['/embed/Add_output_0', ...blocks].join(',');
  const { facts } = await loadModel(model);
  const runnerProbe = await openProbe(probe, { name: 'input', shape: ['batch', 1, 28, 28], dtype: 'float32' });
  const n = runnerProbe.n;
  const plain = await median(() =>
    engine.runner.withSession({ model: { path: facts.path, sha256: facts.sha256 } }, async (s) => {
      for (let start = 0; start < n; start += BATCH) {
        const count = Math.min(BATCH, n - start);
        const data = await runnerProbe.read(start, count);
        await s.run([{ name: 'input', type: 'float32', dims: [count, 1, 28, 28], data }], ['logits']);
      }
    }),
  );
  await runnerProbe.close();
  console.log(
    `\nvit-s0.onnx on ${probe}: n = ${n}, batch ${BATCH}, 13 layers (embedding, 8 residual sums [17, 64], 4 attention maps [4, 17, 17] regrouped)`,
  );
  console.log(`  ${'plain inference, runner process'.padEnd(34)} ${plain.toFixed(0).padStart(7)} ms`);
  const moved: Record<string, number> = {};
  for (const reduce of ['flatten', 'mean'] as const) {
    const sink = new ByteSink();
    const ms = await median(async () => {
      sink.bytes = 0;
      await engine.extract({ model, probe, layers, reduce }, { sinks: [sink], batchSize: BATCH });
    });
    moved[reduce] = sink.bytes;
    console.log(
      `  ${`extract, reduce ${reduce}`.padEnd(34)} ${ms.toFixed(0).padStart(7)} ms  ×${(ms / plain).toFixed(2)} vs runner  ` +
        `${(sink.bytes / 2 ** 20).toFixed(1).padStart(7)} MiB moved`,
    );
  }
  console.log(
    `  mean moves ${(moved.mean! / moved.flatten!).toFixed(4)} of flatten's bytes (1/17 = ${(1 / 17).toFixed(4)})`,
  );
}

export default async function main(): Promise<void> {
  const jobs = workload();
  console.log(`${availableParallelism()} cores; onnxruntime-node ${ort.env.versions.common}`);
  const engine = new ActivationEngine();
  try {
    for (const { model, probe } of jobs) await benchModel(engine, model, probe);
    await benchReductions(engine);
  } finally {
    await engine.close();
  }
  await benchMemory(jobs[0]!.model);
}
