/**
 * `npm run bench -- cka` (with cka.bench.ts): the cost of the paper's baselines and Procrustes
 * against linear CKA on the same activations, in one run.
 *
 * Workload: L = M = 10 layers, n = 2000 examples, float32, conv-like ReLU maps of a CNN's widths:
 * p = 8192, 8192, 4096, 4096, 2048 (p ≥ n: the CCA family is undefined there, SVCCA and
 * Procrustes are not) and 1024, 512, 256, 128, 64 on each side. Timed from arrays in memory to
 * the 10×10 matrices:
 *   - linear CKA (CkaEngine.compare: Grams once, one stacked product), the baseline of the ratios;
 *   - the baselines' shared stage: every layer's factors (a thin float64 SVD through the smaller
 *     Gram), computed once for all of them;
 *   - each measure's pair stage alone from those factors (cca, cca-r2, svcca:0.99, svcca-r2:0.99,
 *     pwcca, linreg, procrustes), and all seven in one call (how a run computes them).
 * A measure's cost is the shared stage plus its pairs; both are printed with their ratio to linear
 * CKA. A float64 numpy reference of a few cells checks the numbers (CKA_BASELINES_N / _SCALE shrink
 * the workload for a quick check).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { toShared } from '../../app/engine/compute/shared-memory.js';
import { readNpy } from '../../app/engine/io/npy.js';
import {
  CkaEngine,
  parseMeasure,
  type BaselineMeasure,
  type CkaResult,
  type LayerSource,
} from '../../app/engine/similarity/index.js';

const N = Number(process.env.CKA_BASELINES_N ?? 2000);
const SCALE = Number(process.env.CKA_BASELINES_SCALE ?? 1);
const WIDTHS = [8192, 8192, 4096, 4096, 2048, 1024, 512, 256, 128, 64].map((p) => Math.max(8, Math.round(p * SCALE)));
const MEASURES = ['cca', 'cca-r2', 'svcca:0.99', 'svcca-r2:0.99', 'pwcca', 'linreg', 'procrustes'];

const PYTHON = String.raw`
import json, sys
import numpy as np

mode, folder = sys.argv[1], sys.argv[2]
widths = [int(w) for w in sys.argv[3].split(",")]
if mode == "generate":
    n = int(sys.argv[4])
    rng = np.random.default_rng(2019)
    base = rng.standard_normal((n, 64), dtype=np.float32)
    for side in "ab":
        for i, p in enumerate(widths):
            # ReLU maps sharing a low-dimensional signal (and ~10% dead units)
            mix = rng.standard_normal((64, p), dtype=np.float32) / 8
            x = np.maximum(base @ mix + rng.standard_normal((n, p), dtype=np.float32) - 0.2, 0)
            x[:, rng.random(p) < 0.1] = 0
            np.save(f"{folder}/{side}{i}.npy", x.astype(np.float32))
    sys.exit(0)

# float64 references of a few cells (X = a_i, Y = b_j), from the definitions
def centred(x):
    x = x.astype(np.float64)
    x = x - x.mean(0)
    return x[:, np.abs(x).max(0) > 0]
out = {}
for i, j in json.loads(sys.argv[4]):
    x, y = centred(np.load(f"{folder}/a{i}.npy")), centred(np.load(f"{folder}/b{j}.npy"))
    cell = {}
    if x.shape[1] < x.shape[0] and y.shape[1] < y.shape[0]:
        qx, qy = np.linalg.qr(x)[0], np.linalg.qr(y)[0]
        rho = np.linalg.svd(qx.T @ qy, compute_uv=False)
        cell["cca"] = float(rho.mean())
    xs, ys = x / np.linalg.norm(x), y / np.linalg.norm(y)
    cell["procrustes"] = float(np.linalg.svd(xs.T @ ys, compute_uv=False).sum())
    out[f"{i},{j}"] = cell
print(json.dumps(out))
`;

function python(args: string[]): string {
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const result = spawnSync('/usr/bin/python3', ['-', ...args], {
    input: PYTHON,
    env,
    encoding: 'utf8',
    maxBuffer: 2 ** 26,
  });
  if (result.status !== 0) throw new Error(`python3 failed: ${result.stderr}`);
  return result.stdout;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; wall: number; cpu: number }> {
  const started = performance.now();
  const cpu = process.cpuUsage(); // every thread of this process: the workers and onnxruntime's
  const value = await work();
  const used = process.cpuUsage(cpu);
  return { value, wall: performance.now() - started, cpu: (used.user + used.system) / 1000 };
}

export default async function bench(): Promise<void> {
  const folder = mkdtempSync(join(tmpdir(), 'cka-baselines-bench-'));
  const threads = availableParallelism();
  try {
    console.log(
      `workload: L = M = ${WIDTHS.length} layers, n = ${N} examples, p = ${WIDTHS.join(', ')} on each side, float32, ${threads} cores`,
    );
    console.log(`load average at start: ${loadavg()[0]!.toFixed(1)}`);
    python(['generate', folder, WIDTHS.join(','), String(N)]);
    const load = (side: string) =>
      Promise.all(
        WIDTHS.map(async (p, i): Promise<LayerSource> => {
          const data = toShared((await readNpy(join(folder, `${side}${i}.npy`))).data as Float32Array, 'bench');
          return { kind: 'array', layer: { tensor: `${side}${i}`, name: `${side}${i}` }, data, n: N, features: p };
        }),
      );
    const rows = await load('a');
    const cols = await load('b');
    const engine = new CkaEngine({ threads });
    try {
      // warm-up: worker threads and their onnxruntime sessions
      const small = (s: LayerSource): LayerSource => {
        const a = s as Extract<LayerSource, { kind: 'array' }>;
        return { ...a, data: a.data.subarray(0, 300 * a.features), n: 300 };
      };
      await engine.compare(rows.slice(-2).map(small), cols.slice(-2).map(small), [
        { name: 'linear' },
        { name: 'procrustes' },
      ]);

      const linear = await timed(() => engine.compare(rows, cols, [{ name: 'linear' }]));
      console.log(`linear CKA: ${seconds(linear.wall)} (${linear.value[0]!.form})`);
      const rowFactors = await timed(() => engine.computeFactors(rows));
      const colFactors = await timed(() => engine.computeFactors(cols));
      const factorWall = rowFactors.wall + colFactors.wall;
      const factorCpu = rowFactors.cpu + colFactors.cpu;
      console.log(`factors of the ${2 * WIDTHS.length} layers: ${seconds(factorWall)}`);
      const perMeasure: { name: string; wall: number; cpu: number; result: CkaResult }[] = [];
      for (const text of MEASURES) {
        const run = await timed(() =>
          engine.compareFactors(rowFactors.value, colFactors.value, [parseMeasure(text) as BaselineMeasure]),
        );
        perMeasure.push({ name: text, wall: run.wall, cpu: run.cpu, result: run.value[0]! });
        console.log(`  ${text}: pairs ${seconds(run.wall)}`);
      }
      const all = await timed(() =>
        engine.compareFactors(
          rowFactors.value,
          colFactors.value,
          MEASURES.map((m) => parseMeasure(m) as BaselineMeasure),
        ),
      );

      const table: string[][] = [
        ['', 'wall', 'CPU (all threads)', '× linear CKA (wall, CPU)'],
        [`linear CKA (Grams, ${threads} threads)`, seconds(linear.wall), seconds(linear.cpu), '1'],
        ['baselines: factors of every layer (shared)', seconds(factorWall), seconds(factorCpu), ''],
      ];
      const ratio = (wall: number, cpu: number) =>
        `${(wall / linear.wall).toFixed(1)}x, ${(cpu / linear.cpu).toFixed(1)}x`;
      for (const m of perMeasure) {
        const defined = m.result.matrix.flat().filter((v) => v !== null).length;
        table.push([
          `${m.name}: factors + pairs (${defined} of 100 cells defined)`,
          seconds(factorWall + m.wall),
          seconds(factorCpu + m.cpu),
          ratio(factorWall + m.wall, factorCpu + m.cpu),
        ]);
      }
      table.push([
        'all seven in one call: factors + pairs',
        seconds(factorWall + all.wall),
        seconds(factorCpu + all.cpu),
        ratio(factorWall + all.wall, factorCpu + all.cpu),
      ]);
      const width = Math.max(...table.map((r) => r[0]!.length));
      console.log('');
      for (const [name, wall, cpu, r] of table) {
        console.log(`${name!.padEnd(width)}  ${wall!.padStart(8)}  ${cpu!.padStart(17)}  ${r}`);
      }

      // numbers: a few cells against float64 numpy (QR/SVD of the data)
      // narrow × narrow (cca and procrustes), and wide × narrow (procrustes; XᵀY stays small)
      const cells: [number, number][] = [
        [5, 6],
        [8, 9],
        [1, 7],
        [4, 5],
      ];
      const reference = JSON.parse(python(['reference', folder, WIDTHS.join(','), JSON.stringify(cells)])) as Record<
        string,
        Record<string, number>
      >;
      let worst = 0;
      for (const [i, j] of cells) {
        for (const [name, value] of Object.entries(reference[`${i},${j}`]!)) {
          const ours = perMeasure.find((m) => m.name === name)!.result.matrix[i]![j]!;
          worst = Math.max(worst, Math.abs(ours - value));
        }
      }
      console.log(
        `numbers: max |ours − float64 numpy| over ${cells.length} cells of cca and procrustes ${worst.toExponential(1)}`,
      );
      console.log(`load average at the end: ${loadavg()[0]!.toFixed(1)}`);
    } finally {
      await engine.close();
    }
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}
