/** Shared pieces of the experiments tests: zoo models, specs of each kind, waiting for runs. */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ExperimentResult, ExperimentSpec, RunDetails, WorkbenchApi } from '../../app/common/contract.js';
import { cliBin, repoRoot } from './paths.js';

export const zoo = (name: string) => join(repoRoot, 'models', 'zoo', `${name}.onnx`);

const created: string[] = [];

/** A fresh directory under the system temp folder, removed by {@link removeTempDataDirs}. */
export function tempDataDir(prefix = 'ckawb-exp-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  created.push(dir);
  return dir;
}

/** Removes every directory tempDataDir made in this test file (call after closing workbenches). */
export function removeTempDataDirs(): void {
  for (const dir of created.splice(0)) rmSync(dir, { recursive: true, force: true });
}

const PROBE = 'fashion-mnist:200';

/** One spec of each kind on the zoo's small CNNs, quick enough for tests. */
export const kindSpecs: Record<ExperimentSpec['kind'], ExperimentSpec> = {
  pair: {
    name: 'pair d1 vs d2',
    kind: 'pair',
    models: [{ path: zoo('plain-d1-s0') }, { path: zoo('plain-d2-s0') }],
    probe: PROBE,
    layers: 'op:Relu',
    measures: ['linear', 'rbf:0.4', 'debiased'],
  },
  self: {
    name: 'self d2',
    kind: 'self',
    models: [{ path: zoo('plain-d2-s0') }],
    probe: PROBE,
    layers: 'preset:blocks',
    measures: ['linear'],
  },
  seeds: {
    name: 'seeds d1',
    kind: 'seeds',
    models: [zoo('plain-d1-s0'), zoo('plain-d1-s1'), zoo('plain-d1-s2')].map((path) => ({ path })),
    probe: PROBE,
    layers: 'preset:blocks',
    measures: ['linear', 'rbf:0.4'],
  },
  family: {
    name: 'family d1 d2',
    kind: 'family',
    models: [
      { path: zoo('plain-d1-s0'), label: 'depth 1' },
      { path: zoo('plain-d2-s0'), label: 'depth 2' },
    ],
    probe: PROBE,
    layers: 'op:Relu',
    measures: ['linear'],
  },
};

/** Opens the spec's models (as the UI would), creates the experiment, runs it and waits for the end. */
export async function runSpec(api: WorkbenchApi, spec: ExperimentSpec): Promise<RunDetails> {
  for (const m of spec.models) await api.openModel({ path: m.path });
  const experiment = await api.createExperiment({ spec });
  return runExperimentToEnd(api, experiment.id);
}

export async function runExperimentToEnd(api: WorkbenchApi, experimentId: string): Promise<RunDetails> {
  let runId: string | null = null;
  let done!: () => void;
  const ended = new Promise<void>((resolve) => (done = resolve));
  const off = api.subscribe((e) => {
    if (e.type === 'run' && e.run.id === runId && !['queued', 'running'].includes(e.run.status)) done();
  });
  try {
    runId = (await api.runExperiment({ experimentId })).id;
    const now = await api.getRun({ runId });
    if (!['queued', 'running'].includes(now.run.status)) done();
    await ended;
    return await api.getRun({ runId });
  } finally {
    off();
  }
}

/** The numbers of a result, without what legitimately differs between runs (times, ids, paths of data dirs). */
export function numbersOf(result: ExperimentResult) {
  return {
    models: result.models,
    probe: result.probe,
    matrices: result.matrices,
    seeds: result.seeds ?? null,
    partial: result.partial,
  };
}

const run = promisify(execFile);

export async function cli(args: string[], options: { timeout?: number; env?: NodeJS.ProcessEnv } = {}) {
  try {
    const { stdout, stderr } = await run(process.execPath, [cliBin, ...args], {
      cwd: repoRoot,
      ...(options.env ? { env: { ...process.env, ...options.env } } : {}),
      timeout: options.timeout ?? 180_000,
      maxBuffer: 64 * 2 ** 20,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
