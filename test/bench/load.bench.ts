/**
 * `npm run bench -- load` (issue 8 §6): a run with 100+ layers per model and 10,000 examples in
 * minibatch mode, started and watched through the local HTTP server as the browser UI does.
 *
 *   pair      mobilenet_v3_small_narrow (all layers) × shufflenet_v2_narrow (all layers)
 *   probe     random:10000 (3×32×32 each), measure minibatch:500
 *
 * Reported: wall time and the run's stage timings; peak resident memory of the host (the process
 * with the API, the server, SQLite and the CKA worker threads) and of each model-runner process,
 * next to the size of the activations they handled; the cache on disk; and how responsive the UI
 * stays meanwhile — latency of a cheap API call (appInfo over HTTP, every 50 ms) and the host's
 * event-loop delay. LOAD_BENCH_PROBE / LOAD_BENCH_MEASURE override the probe and the measure.
 *
 * Bounded memory: the activations (n × all features × 4 bytes) are streamed through the cache on
 * disk; neither process holds more than a few batches of them. The run fails the bench if the
 * host's peak exceeds a quarter of that total or 2 GiB, whichever is larger.
 */
import { readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { ExperimentInfo, ExperimentSpec, RunDetails, RunInfo } from '../../app/common/contract.js';
import { createWorkbench } from '../../app/api/workbench.js';
import { startServer } from '../../app/server/http-server.js';
import { faultLauncher, httpClient } from '../helpers/faults.js';
import { tempDataDir } from '../helpers/experiments.js';
import { fixturesDir, rendererDist } from '../helpers/paths.js';

const MODELS = ['mobilenet_v3_small_narrow', 'shufflenet_v2_narrow'];
const MiB = 2 ** 20;

/** Resident and peak resident memory of a process, from /proc (Linux), in bytes; null when gone. */
function procMemory(pid: number): { rss: number; peak: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
    return { rss: kb('VmRSS'), peak: kb('VmHWM') };
  } catch {
    return null;
  }
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function folderBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) total += statSync(join(entry.parentPath, entry.name)).size;
  }
  return total;
}

const mib = (bytes: number) => `${(bytes / MiB).toFixed(0)} MiB`;

export default async function main(): Promise<void> {
  const dataDir = tempDataDir('ckawb-load-');
  const launcher = faultLauncher();
  const api = createWorkbench({ dataDir, runnerLauncher: launcher });
  const server = await startServer({ api, staticDir: rendererDist, uploadDir: join(dataDir, 'uploads') });
  const http = httpClient(server.url, server.token);
  const runnerPeaks = new Map<number, number>();
  let hostPeak = 0;
  const sampleMemory = () => {
    hostPeak = Math.max(hostPeak, process.memoryUsage().rss);
    for (const spawned of launcher.spawned) {
      if (spawned.pid === undefined) continue;
      const memory = procMemory(spawned.pid);
      if (memory) runnerPeaks.set(spawned.pid, Math.max(runnerPeaks.get(spawned.pid) ?? 0, memory.peak));
    }
  };
  const sampler = setInterval(sampleMemory, 200);
  try {
    const spec: ExperimentSpec = {
      name: 'load: 100+ layers × 10,000 examples, minibatch',
      kind: 'pair',
      models: MODELS.map((m) => ({ path: join(fixturesDir, 'models', `${m}.onnx`), label: m })),
      probe: process.env.LOAD_BENCH_PROBE ?? 'random:10000',
      layers: 'all',
      measures: [process.env.LOAD_BENCH_MEASURE ?? 'minibatch:500'],
    };
    for (const m of spec.models) await http.value('openModel', { path: m.path });
    const experiment = await http.value<ExperimentInfo>('createExperiment', { spec });

    // The UI's view while it runs: a cheap call every 50 ms, and the host's event-loop delay.
    const latencies: number[] = [];
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    let running = true;
    const poller = (async () => {
      while (running) {
        const t0 = performance.now();
        await http.value('appInfo', {});
        latencies.push(performance.now() - t0);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    const t0 = performance.now();
    const run = await http.value<RunInfo>('runExperiment', { experimentId: experiment.id });
    let details: RunDetails;
    try {
      details = await http.waitForRun(run.id, 3 * 60 * 60_000);
    } finally {
      running = false;
      await poller;
      loop.disable();
    }
    const wall = performance.now() - t0;
    sampleMemory();
    if (details.run.status !== 'done') throw new Error(`run ${details.run.status}: ${details.run.error?.message}`);

    const result = details.result!;
    const n = result.probe.n;
    const layers = result.models.map((m) => m.layers.length);
    const matrix = result.matrices[0]!;
    const activationBytes = folderBytes(join(dataDir, 'activations'));
    const hostMaxRss = Math.max(hostPeak, process.resourceUsage().maxRSS * 1024);
    const sorted = [...latencies].sort((a, b) => a - b);
    const ms = (v: number) => `${v.toFixed(1)} ms`;
    const timings = Object.entries(result.provenance.timingsMs)
      .map(([stage, t]) => `${stage} ${(t / 1000).toFixed(1)} s`)
      .join(', ');

    console.log(`\n${spec.name}`);
    console.log(`models          ${MODELS.map((m, i) => `${m} (${layers[i]} layers)`).join(' × ')}`);
    console.log(
      `probe           ${result.probe.spec}: n = ${n}; measure ${matrix.measure.name} ${JSON.stringify(matrix.measure.params)}`,
    );
    console.log(
      `result          ${matrix.matrix.length} × ${matrix.matrix[0]!.length} matrix, ${matrix.undefined.length} undefined cells`,
    );
    console.log(`wall time       ${(wall / 1000).toFixed(1)} s (${timings})`);
    console.log(`activations     ${mib(activationBytes)} streamed through the cache on disk (n × all features × 4 B)`);
    console.log(`peak RSS host   ${mib(hostMaxRss)} (API, server, SQLite, CKA worker threads)`);
    for (const [pid, peak] of runnerPeaks) console.log(`peak RSS runner ${mib(peak)} (model process ${pid})`);
    console.log(
      `API latency     appInfo over HTTP, ${latencies.length} calls: p50 ${ms(percentile(sorted, 50))}, ` +
        `p95 ${ms(percentile(sorted, 95))}, p99 ${ms(percentile(sorted, 99))}, max ${ms(sorted.at(-1) ?? NaN)}`,
    );
    console.log(
      `event loop      host delay p50 ${ms(loop.percentile(50) / 1e6)}, p99 ${ms(loop.percentile(99) / 1e6)}, ` +
        `max ${ms(loop.max / 1e6)}`,
    );
    const bound = Math.max(2 * 2 ** 30, activationBytes / 4);
    console.log(`memory bound    host peak ≤ ${mib(bound)}: ${hostMaxRss <= bound ? 'PASS' : 'FAIL'}`);
    if (hostMaxRss > bound) process.exitCode = 1;
  } finally {
    clearInterval(sampler);
    await server.close();
    await api.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
