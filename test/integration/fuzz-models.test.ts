/**
 * Fuzzing the model path (issue 8 §2). Real ONNX files — a PyTorch CNN, a tf2onnx NHWC model, an
 * attention block, a BatchNorm CNN, a hand-made graph — are mutated (truncated at many points,
 * random bytes changed, length prefixes patched to enormous values, fields given the wrong wire
 * type), joined by files that are not ONNX at all and by hand-made hostile models (cycles, unknown
 * ops, "zip bomb" initializers, external data pointing outside, endless loops, …). Every case goes
 * through the API as the app uses it: `inspectModel` (decoding here, a session in the runner
 * process); a sample also through an experiment run against the unmutated model (extraction, the
 * activation cache, Grams and the comparison).
 *
 * Each case must end within its time bound with a result or a typed error (a known code, never
 * INTERNAL: every failure is explained), the host (this process) must survive them all with
 * bounded memory, and the workbench must still work afterwards. The counts are printed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { ErrorCode, ExperimentSpec, RunDetails } from '../../app/common/contract.js';
import { createWorkbench, type Workbench } from '../../app/api/workbench.js';
import { isWorkbenchError } from '../../app/common/errors.js';
import {
  byteFlips,
  hugeLengths,
  notOnnx,
  seededRandom,
  truncations,
  walkFields,
  wrongWireTypes,
  type Mutation,
} from '../helpers/fuzz.js';
import { writeHostileModels } from '../helpers/hostile-models.js';
import { removeTempDataDirs, runExperimentToEnd, tempDataDir } from '../helpers/experiments.js';
import { fixturesDir } from '../helpers/paths.js';

/**
 * Per-case bounds ("ends in bounded time"): inspect opens up to two sessions; a run loads two models
 * and may time out once. Each is twice what those runner limits allow and more than three times
 * the slowest case seen on a loaded 2-core machine (inspect 8–9.5 s, run ~8 s), so only a case
 * that really hangs misses it.
 */
const RUNNER_LIMIT_MS = 8000;
const INSPECT_BOUND_MS = 4 * RUNNER_LIMIT_MS;
const RUN_BOUND_MS = 6 * RUNNER_LIMIT_MS;

const KNOWN_CODES = new Set<ErrorCode>([
  'BAD_INPUT',
  'NOT_FOUND',
  'BAD_MODEL',
  'BAD_PROBE',
  'RUNTIME',
  'NUMERIC',
  'TIMEOUT',
  'OUT_OF_MEMORY',
  'FORBIDDEN',
  'UNSUPPORTED',
]);

interface Case {
  seed: string;
  name: string;
  file: string;
  /** Also run it through an experiment. */
  run: boolean;
  /** Hand-made cases: what the run must end in ('ok' or an error code). */
  expected?: string;
}

interface Outcome {
  case: Case;
  level: 'inspect' | 'run';
  ms: number;
  /** 'ok' or the error code. */
  result: string;
  message?: string;
}

const SEEDS: { file: string; truncate: number; flips: number; lengths: number; wires: number }[] = [
  { file: 'tiny_cnn.onnx', truncate: 24, flips: 24, lengths: 12, wires: 12 },
  { file: 'nhwc_tf.onnx', truncate: 12, flips: 16, lengths: 8, wires: 8 },
  { file: 'tiny_attention.onnx', truncate: 12, flips: 16, lengths: 8, wires: 8 },
  { file: 'bn_cnn.onnx', truncate: 12, flips: 16, lengths: 8, wires: 8 },
  { file: 'nan_sqrt.onnx', truncate: 8, flips: 12, lengths: 6, wires: 6 },
];

let api: Workbench;
let dataDir: string;
const cases: Case[] = [];
const outcomes: Outcome[] = [];
const baseModels = new Map<string, string>();

function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

function classify(err: unknown): { result: string; message: string } {
  if (isWorkbenchError(err)) return { result: err.code, message: err.message };
  return { result: 'UNTYPED', message: err instanceof Error ? `${err.name}: ${err.message}` : String(err) };
}

beforeAll(() => {
  dataDir = tempDataDir('ckawb-fuzz-');
  // Inside the data directory, so the file-access policy allows the cases without opening each.
  const caseDir = join(dataDir, 'uploads', 'fuzz');
  mkdirSync(caseDir, { recursive: true });
  api = createWorkbench({
    dataDir,
    threads: 1,
    runnerTimeouts: { openMs: RUNNER_LIMIT_MS, runMs: RUNNER_LIMIT_MS },
  });
  let k = 0;
  const add = (seed: string, m: Mutation, run: boolean) => {
    const file = join(caseDir, `case-${String(++k).padStart(4, '0')}.onnx`);
    writeFileSync(file, m.bytes);
    cases.push({ seed, name: m.name, file, run });
  };
  for (const [s, seed] of SEEDS.entries()) {
    const source = join(fixturesDir, 'models', seed.file);
    const base = join(caseDir, `base-${seed.file}`);
    copyFileSync(source, base);
    baseModels.set(seed.file, base);
    const bytes = new Uint8Array(readFileSync(source));
    const fields = walkFields(bytes);
    const random = seededRandom(0x5eed + s);
    const mutations = [
      ...truncations(bytes, fields, random, seed.truncate),
      ...byteFlips(bytes, fields, random, seed.flips),
      ...hugeLengths(bytes, fields, random, seed.lengths),
      ...wrongWireTypes(bytes, fields, random, seed.wires),
    ];
    // Through an experiment too: every 8th mutation (those that decode get extracted and compared).
    mutations.forEach((m, i) => add(seed.file, m, i % 8 === 3));
  }
  for (const m of notOnnx(seededRandom(7), readFileSync(join(fixturesDir, 'models', 'tiny_cnn.onnx')))) {
    add('none', m, m.name === 'zero-length file' || m.name === 'model header then random bytes');
  }
  for (const hostile of writeHostileModels(join(fixturesDir, 'models', 'tiny_cnn.onnx'), join(caseDir, 'hostile'))) {
    cases.push({
      seed: 'tiny_cnn.onnx',
      name: hostile.name,
      file: hostile.file,
      run: hostile.expected !== null,
      ...(hostile.expected !== null ? { expected: hostile.expected } : {}),
    });
  }
  baseModels.set('none', baseModels.get('tiny_cnn.onnx')!);
});

afterAll(async () => {
  // FUZZ_REPORT=FILE keeps every outcome for a closer look.
  if (process.env.FUZZ_REPORT) {
    const rows = outcomes.map((o) => ({ ...o, case: { ...o.case, file: basename(o.case.file) } }));
    writeFileSync(process.env.FUZZ_REPORT, JSON.stringify(rows, null, 1));
  }
  await api?.close();
  removeTempDataDirs();
});

describe('fuzzing models through the API', () => {
  it('inspect: every case ends in time with a summary or a typed error, and the host survives', async () => {
    const started = performance.now();
    for (const c of cases) {
      const t0 = performance.now();
      let outcome: { result: string; message?: string };
      try {
        const summary = await withDeadline(api.inspectModel({ path: c.file }), INSPECT_BOUND_MS, c.name);
        expect(summary.sha256).toMatch(/^[0-9a-f]{64}$/);
        outcome = { result: 'ok' };
      } catch (err) {
        outcome = classify(err);
      }
      outcomes.push({ case: c, level: 'inspect', ms: performance.now() - t0, ...outcome });
    }
    report('inspect', performance.now() - started);
    const bad = outcomes.filter((o) => o.level === 'inspect' && !acceptable(o));
    expect(bad.map(describeOutcome)).toEqual([]);
    // Errors name the file they are about.
    for (const o of outcomes.filter((x) => x.level === 'inspect' && x.result !== 'ok')) {
      expect(o.message, describeOutcome(o)).toContain(basename(o.case.file));
    }
    expect(process.memoryUsage().rss).toBeLessThan(2 * 2 ** 30);
  }, 600_000);

  it('extract and compare: sampled cases run as experiments against the unmutated model', async () => {
    const started = performance.now();
    for (const c of cases.filter((x) => x.run)) {
      const base = baseModels.get(c.seed)!;
      const spec: ExperimentSpec = {
        name: `fuzz ${c.name}`.slice(0, 200),
        kind: 'pair',
        models: [{ path: base }, { path: c.file }],
        probe: 'random:8',
        layers: 'all',
        measures: ['linear'],
      };
      const t0 = performance.now();
      let outcome: { result: string; message?: string };
      try {
        const experiment = await api.createExperiment({ spec });
        const details: RunDetails = await withDeadline(
          runExperimentToEnd(api, experiment.id),
          RUN_BOUND_MS,
          `run of ${c.name}`,
        );
        if (details.run.status === 'done') {
          checkResult(details);
          specialChecks(c, details);
          outcome = { result: 'ok' };
        } else {
          expect(details.run.status, c.name).toBe('failed');
          outcome = { result: details.run.error!.code, message: details.run.error!.message };
        }
      } catch (err) {
        outcome = classify(err);
      }
      outcomes.push({ case: c, level: 'run', ms: performance.now() - t0, ...outcome });
    }
    report('run', performance.now() - started);
    const bad = outcomes.filter((o) => o.level === 'run' && !acceptable(o));
    expect(bad.map(describeOutcome)).toEqual([]);
    // The hand-made cases end as each should.
    const hostile = outcomes.filter((o) => o.level === 'run' && o.case.expected !== undefined);
    expect(hostile.map((o) => `${o.case.name}: ${o.result}`)).toEqual(
      hostile.map((o) => `${o.case.name}: ${o.case.expected}`),
    );
    expect(process.memoryUsage().rss).toBeLessThan(2 * 2 ** 30);
  }, 900_000);

  it('the workbench still works after all of it', async () => {
    const details = await runExperimentToEnd(
      api,
      (
        await api.createExperiment({
          spec: {
            name: 'after the fuzzing',
            kind: 'self',
            models: [{ path: baseModels.get('tiny_cnn.onnx')! }],
            probe: 'random:16',
            layers: 'all',
            measures: ['linear'],
          },
        })
      ).id,
    );
    expect(details.run.status).toBe('done');
    const matrix = details.result!.matrices[0]!.matrix;
    matrix.forEach((row, i) => expect(row[i]).toBeCloseTo(1, 6));
    console.log(
      `fuzz: ${cases.length} model cases through inspect, ${outcomes.filter((o) => o.level === 'run').length} of them ` +
        `also through extract and compare; ${outcomes.length} case runs in all`,
    );
  }, 120_000);
});

function acceptable(o: Outcome): boolean {
  return o.result === 'ok' || KNOWN_CODES.has(o.result as ErrorCode);
}

function describeOutcome(o: Outcome): string {
  return `${o.level} ${o.case.seed} / ${o.case.name} (${basename(o.case.file)}): ${o.result} ${o.message ?? ''}`;
}

function checkResult(details: RunDetails): void {
  const result = details.result!;
  expect(result.partial).toBe(false);
  for (const m of result.matrices) {
    const nulls = new Set(m.undefined.map((u) => `${u.row},${u.col}`));
    m.matrix.forEach((row, r) =>
      row.forEach((v, c) => {
        if (v === null) expect(nulls.has(`${r},${c}`)).toBe(true);
        else expect(Number.isFinite(v) && v >= -1e-6 && v <= 1 + 1e-6).toBe(true);
      }),
    );
  }
}

/** What some hand-made cases must leave behind when their run succeeds. */
function specialChecks(c: Case, details: RunDetails): void {
  const layers = details.result!.models[1]!.layers.map((l) => l.tensor);
  if (c.name.startsWith('a layer of 10^8 values')) {
    // Left out of `all` (with a note) before anything that size was computed or cached.
    expect(layers).not.toContain('bomb_layer');
    expect(layers.length).toBe(8);
  }
  if (c.name.startsWith('tensor names that are paths')) {
    // Odd names are ids, never file names: every cache file stays inside the data directory.
    const name = '../../../../tmp/ckawb-evil';
    expect(layers).toContain(name);
    // Wherever the name would land if it were used as a path — from the data directory or from
    // any folder of the cache — there is no file, under any of the cache's suffixes.
    const cache = join(dataDir, 'activations');
    const folders = [
      dataDir,
      cache,
      ...(readdirSync(cache, { recursive: true }) as string[]).map((f) => join(cache, f)),
    ];
    for (const folder of folders) {
      for (const suffix of ['', '.npy', '.json', '.tmp']) {
        expect(existsSync(resolve(folder, name) + suffix), resolve(folder, name) + suffix).toBe(false);
      }
    }
    expect(existsSync('/tmp/ckawb-evil') || existsSync('/tmp/ckawb-evil.npy')).toBe(false);
    for (const file of readdirSync(cache, { recursive: true }) as string[]) {
      expect(file.length).toBeLessThan(400);
    }
  }
}

function report(level: Outcome['level'], ms: number): void {
  const mine = outcomes.filter((o) => o.level === level);
  const counts = new Map<string, number>();
  for (const o of mine) counts.set(o.result, (counts.get(o.result) ?? 0) + 1);
  const slowest = [...mine].sort((a, b) => b.ms - a.ms)[0];
  console.log(
    `fuzz ${level}: ${mine.length} cases in ${(ms / 1000).toFixed(1)} s — ` +
      [...counts.entries()].map(([k, v]) => `${k} ${v}`).join(', ') +
      (slowest ? `; slowest ${Math.round(slowest.ms)} ms (${slowest.case.name})` : ''),
  );
}
