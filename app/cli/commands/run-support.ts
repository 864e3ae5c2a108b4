/**
 * What the experiment commands (`run`, `sanity`, `runs`) share: a workbench on the chosen data
 * directory, running an experiment to its end with progress on stderr (one rewritten line on a
 * terminal, a line per stage otherwise) and Ctrl+C cancelling the run (the finished pairs are
 * kept), and printing a result briefly.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { ExperimentResult, ExperimentSpec, RunDetails, RunProgress } from '../../common/contract.js';
import { WorkbenchError } from '../../common/errors.js';
import type { Workbench } from '../../api/workbench.js';
import type { CliContext } from '../context.js';
import { specs } from '../lazy.js';

export function addDataDirOption(command: Command): Command {
  return command.option('--data-dir <dir>', "the app's data directory (history and cache; default: the app's own)");
}

/** The context's workbench, or one on `dataDir` (closed by `close`). */
export async function withApi<T>(
  context: CliContext,
  dataDir: string | undefined,
  work: (api: Workbench) => Promise<T>,
): Promise<T> {
  if (dataDir === undefined) return work(await context.api());
  const api = await context.newWorkbench({ dataDir: resolve(dataDir) });
  try {
    return await work(api);
  } finally {
    await api.close();
  }
}

/**
 * Opens the spec's models and probe data: naming them on the command line is the user opening them.
 * Returns the spec with each model pinned to the sha256 opening it found (unless the spec gives
 * one), so creating the experiment does not hash the files again.
 */
export async function openSpecFiles(api: Workbench, spec: ExperimentSpec): Promise<ExperimentSpec> {
  const models = [];
  for (const model of spec.models) {
    const { sha256 } = await api.openModel({ path: model.path });
    models.push(model.sha256 ? model : { ...model, sha256 });
  }
  // Each model's probe, opened for that model (a text probe with its tokenizer).
  const { probeDataPath } = await specs();
  for (const [i, model] of spec.models.entries()) {
    const probe = model.probe ?? spec.probe;
    if (!probeDataPath(probe) || (i > 0 && model.probe === undefined && model.tokenizer === undefined)) continue;
    await api.openProbe({
      spec: probe,
      model: model.path,
      ...(model.tokenizer !== undefined ? { tokenizer: model.tokenizer } : {}),
      ...(model.maskInput !== undefined ? { maskInput: model.maskInput } : {}),
    });
  }
  return { ...spec, models };
}

function formatEta(seconds: number | undefined): string {
  if (seconds === undefined) return '';
  const m = Math.floor(seconds / 60);
  return `, ~${m > 0 ? `${m} min ` : ''}${seconds % 60} s left`;
}

function progressLine(p: RunProgress): string {
  const rate = p.examplesPerSecond ? `, ${p.examplesPerSecond} examples/s` : '';
  return `[${(p.fraction * 100).toFixed(0).padStart(3)}%] ${p.stage}: ${p.message}${rate}${formatEta(p.etaSeconds)}`;
}

/**
 * Runs the experiment and waits for the run to end. Progress goes to stderr unless `quiet`.
 * SIGINT cancels the run; the details of the ended run are returned either way.
 */
export async function runToEnd(
  api: Workbench,
  experimentId: string,
  options: { quiet?: boolean; name?: string } = {},
): Promise<RunDetails> {
  const tty = process.stderr.isTTY;
  let lastKey = '';
  let runId: string | null = null;
  let resolveEnd!: () => void;
  const ended = new Promise<void>((r) => (resolveEnd = r));
  const early: { runId: string; message: string }[] = [];
  const warn = (message: string) => process.stderr.write(`${tty ? '\r\x1b[K' : ''}warning: ${message}\n`);
  const off = api.subscribe((event) => {
    if (
      event.type === 'run' &&
      event.run.id === runId &&
      event.run.status !== 'queued' &&
      event.run.status !== 'running'
    ) {
      resolveEnd();
    }
    if (event.type === 'log' && event.level === 'warn' && event.runId !== undefined) {
      // A warning may come before runExperiment has answered with the run's id.
      if (runId === null) early.push({ runId: event.runId, message: event.message });
      else if (event.runId === runId) warn(event.message);
    }
    if (event.type !== 'progress' || event.progress.runId !== runId || options.quiet) return;
    const p = event.progress;
    if (tty) {
      process.stderr.write(`\r${progressLine(p).slice(0, (process.stderr.columns || 100) - 1)}\x1b[K`);
    } else {
      const key = `${p.stage}|${p.model ?? ''}|${p.message.replace(/\d+\/\d+/g, '')}`;
      if (key !== lastKey) process.stderr.write(`${progressLine(p)}\n`);
      lastKey = key;
    }
  });
  const interrupt = () => {
    if (runId) void api.cancelRun({ runId }).catch(() => undefined);
  };
  process.once('SIGINT', interrupt);
  try {
    const run = await api.runExperiment({ experimentId, ...(options.name ? { name: options.name } : {}) });
    runId = run.id;
    for (const w of early.splice(0)) if (w.runId === runId) warn(w.message);
    // The run may have ended before we knew its id.
    const now = await api.getRun({ runId });
    if (now.run.status !== 'queued' && now.run.status !== 'running') resolveEnd();
    await ended;
    if (tty && !options.quiet) process.stderr.write('\r\x1b[K');
    return await api.getRun({ runId });
  } finally {
    off();
    process.off('SIGINT', interrupt);
  }
}

/**
 * Opens the spec's files, creates the experiment and runs it to the end (see runToEnd) — unless a
 * finished run had the same inputs: then the new run takes its result (`repeatRun`), and neither
 * the engine nor the models' code is loaded.
 */
export async function runSpecToEnd(
  api: Workbench,
  spec: ExperimentSpec,
  options: { quiet?: boolean } = {},
): Promise<RunDetails> {
  const repeated = await api.repeatRun({ spec });
  if (repeated) {
    if (!options.quiet) {
      process.stderr.write(
        `the inputs are those of run ${repeated.result?.provenance.repeatOf}: its result, nothing computed\n`,
      );
    }
    return repeated;
  }
  const experiment = await api.createExperiment({ spec: await openSpecFiles(api, spec) });
  return runToEnd(api, experiment.id, options);
}

/** Throws the run's own error (after the caller wrote what it could) unless it is done. */
export function checkRunDone(details: RunDetails): void {
  const { run } = details;
  if (run.status === 'done') return;
  const kept = details.result
    ? ` (run ${run.id} keeps the ${details.result.matrices.length} matrices it finished)`
    : '';
  throw new WorkbenchError(run.error?.code ?? 'INTERNAL', `${run.error?.message ?? `run ${run.status}`}${kept}`);
}

export function describeResult(result: ExperimentResult, runId: string): string {
  const lines = [
    `run ${runId}: ${result.spec.kind} "${result.spec.name}"${result.partial ? ' (partial)' : ''}`,
    `probe ${result.probe.spec}, n = ${result.probe.n}`,
    ...result.models.map(
      (m, i) => `  model ${i}: ${m.label} (${m.layers.length} layers, sha256 ${m.sha256.slice(0, 12)}…)`,
    ),
    `${result.matrices.length} matrices; timings ${Object.entries(result.provenance.timingsMs)
      .map(([k, v]) => `${k} ${(v / 1000).toFixed(1)} s`)
      .join(', ')}`,
  ];
  const work = result.provenance.work;
  if (result.provenance.repeatOf) {
    lines.push(
      `the inputs of run ${result.provenance.repeatOf} (the same spec and file contents): its result, nothing computed`,
    );
  } else if (work) {
    lines.push(
      `layers extracted ${work.activationsExtracted} (${work.activationsReused} from the cache); Grams computed ${work.gramsComputed} (${work.gramsReused} from the cache)` +
        (work.factorsComputed || work.factorsReused
          ? `; CCA-family SVDs computed ${work.factorsComputed ?? 0} (${work.factorsReused ?? 0} from the cache)`
          : '') +
        `; pairs compared ${work.pairsComputed} (${work.pairsReused} from earlier runs)`,
    );
  }
  for (const s of result.seeds ?? []) {
    lines.push(
      `sanity check (${s.measure.name}${Object.keys(s.measure.params).length ? ` ${JSON.stringify(s.measure.params)}` : ''}): accuracy ${(s.accuracy * 100).toFixed(1)}%`,
    );
  }
  return lines.join('\n');
}
