/**
 * `npm run bench -- large-model`: how the local server answers while a 1.9 GiB model opens.
 *
 * A model of LARGE_MODEL_BENCH_MIB MiB (default 1900; y = x + w, w all zeros, a sparse file made in
 * milliseconds) is opened through the HTTP server as the browser UI does (`openModel`: the file is
 * read, hashed and decoded, then onnxruntime resolves its types in the runner process), while a
 * client on a thread of its own (as a browser would be: its requests wait when the server's thread
 * is busy) calls `listRuns` every 20 ms. A call's latency counts from when it was due, so a call
 * that could not even be sent is late too. Three phases, one run:
 *
 *   idle       the same calls with nothing else going on (the floor);
 *   now        openModel of the large model;
 *   baseline   the same file read the way the engine did before (readFile, sha256 and decode on the
 *              thread that serves the API), for comparison.
 *
 * Reported per phase: wall time, API latency p50/p99/max, the CPU time of the server's thread (its
 * share of serving the client's calls included) and its longest stall (a 10 ms timer's largest
 * delay), the process's RSS afterwards; and whether p99
 * stays under 50 ms while the model opens (the load bench's figure). On a machine busy with other
 * work the idle phase's p99 shows the floor the other phases stand on.
 */
import { createHash } from 'node:crypto';
import { promises as fs, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { createWorkbench } from '../../app/api/workbench.js';
import { decodeModel } from '../../app/engine/onnx/codec.js';
import { startServer } from '../../app/server/http-server.js';
import { httpClient } from '../helpers/faults.js';
import { tempDataDir } from '../helpers/experiments.js';
import { writeLargeModel } from '../helpers/large-model.js';
import { rendererDist, tinyCnn } from '../helpers/paths.js';

const MiB = 2 ** 20;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** CPU time (user + system) of this process's main thread so far, in ms (Linux; 100 ticks per second). */
function mainThreadCpuMs(): number {
  const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

interface Phase {
  name: string;
  wallMs: number;
  cpuMs: number;
  latencies: number[];
  /** The longest the server's thread went without running a 10 ms timer (its own stalls, load included). */
  stallMs: number;
  rssAfter: number;
}

/**
 * The client: calls `listRuns` at a fixed rate (one due every 20 ms, one at a time) until told to
 * stop, then posts each call's latency counted from when it was due.
 */
const CLIENT = `
const { parentPort, workerData } = require('node:worker_threads');
const { url, token } = workerData;
let stop = false;
parentPort.on('message', () => (stop = true));
(async () => {
  const latencies = [];
  const start = performance.now();
  for (let i = 0; !stop; i++) {
    const due = start + i * 20;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    // A kept-alive connection the server closed while its thread was busy resets: send again.
    for (let attempt = 0; ; attempt++) {
      try {
        const response = await fetch(url + 'api/listRuns', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Authorization: 'Bearer ' + token },
          body: '{}',
        });
        await response.json();
        break;
      } catch (err) {
        if (attempt >= 3) throw err;
      }
    }
    latencies.push(performance.now() - due);
  }
  parentPort.postMessage(latencies);
})();
`;

export default async function main(): Promise<void> {
  const dir = tempDataDir('ckawb-large-bench-');
  const model = join(dir, 'large.onnx');
  const { bytes } = writeLargeModel(model, Number(process.env.LARGE_MODEL_BENCH_MIB ?? 1900) * MiB);
  const api = createWorkbench({ dataDir: join(dir, 'data'), threads: 1 });
  const server = await startServer({ api, staticDir: rendererDist, uploadDir: join(dir, 'data', 'uploads') });
  const http = httpClient(server.url, server.token);
  const phases: Phase[] = [];

  /** Runs `work` while the client calls listRuns every 20 ms (for at least `minMs`). */
  async function phase(name: string, work: () => Promise<unknown>, minMs = 0): Promise<void> {
    const client = new Worker(CLIENT, { eval: true, workerData: { url: server.url, token: server.token } });
    const answered = new Promise<number[]>((resolve) => client.once('message', resolve));
    let last = performance.now();
    let stallMs = 0;
    const ticker = setInterval(() => {
      const now = performance.now();
      stallMs = Math.max(stallMs, now - last - 10);
      last = now;
    }, 10);
    const cpu0 = mainThreadCpuMs();
    const t0 = performance.now();
    await Promise.all([work(), new Promise((resolve) => setTimeout(resolve, minMs))]);
    const wallMs = performance.now() - t0;
    const cpuMs = mainThreadCpuMs() - cpu0;
    // A stall at the very end shows only when the timer runs again.
    await new Promise((resolve) => setTimeout(resolve, 30));
    clearInterval(ticker);
    client.postMessage('stop');
    const latencies = await answered;
    await client.terminate();
    await new Promise((resolve) => setTimeout(resolve, 500));
    phases.push({ name, wallMs, cpuMs, latencies, stallMs, rssAfter: process.memoryUsage().rss });
  }

  try {
    await http.value('openModel', { path: tinyCnn }); // database, runner process and reader thread warm
    const rssStart = process.memoryUsage().rss;
    await phase('idle', async () => undefined, 5000);
    await phase('now', () => http.value('openModel', { path: model }));
    await phase('baseline', async () => {
      // What openModel did on the API's thread before the model reader: read, hash, decode the bytes.
      const whole = await fs.readFile(model);
      createHash('sha256').update(whole).digest('hex');
      decodeModel(whole, model);
    });

    console.log(`\nopenModel of a ${(bytes / MiB).toFixed(0)} MiB model through the local server`);
    console.log('phase      wall      thread CPU   longest stall   listRuns p50   p99        max        RSS after');
    const ms = (v: number) => `${v.toFixed(1)} ms`.padEnd(11);
    for (const p of phases) {
      const sorted = [...p.latencies].sort((a, b) => a - b);
      console.log(
        `${p.name.padEnd(10)} ${`${(p.wallMs / 1000).toFixed(1)} s`.padEnd(9)} ${`${p.cpuMs} ms`.padEnd(12)} ` +
          `${`${p.stallMs.toFixed(0)} ms`.padEnd(15)} ` +
          `${ms(percentile(sorted, 50))}    ${ms(percentile(sorted, 99))}${ms(sorted.at(-1) ?? NaN)}` +
          `${((p.rssAfter - rssStart) / MiB).toFixed(0)} MiB over the start`,
      );
    }
    const stat = (name: string, p: number) =>
      percentile(
        [...phases.find((x) => x.name === name)!.latencies].sort((a, b) => a - b),
        p,
      );
    const p99 = (name: string) => stat(name, 99);
    console.log(
      `while opening: p99 ${p99('now').toFixed(1)} ms (idle ${p99('idle').toFixed(1)} ms), longest ` +
        `${stat('now', 100).toFixed(0)} ms; the old way's longest ${stat('baseline', 100).toFixed(0)} ms; ` +
        `p99 under 50 ms: ${p99('now') < 50 ? 'PASS' : 'FAIL'}`,
    );
    if (p99('now') >= 50) process.exitCode = 1;
  } finally {
    await server.close();
    await api.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
