/**
 * `cka-workbench compare A [B] --probe SPEC --layers SEL --measure M [--bootstrap N --seed S]
 * [--threads T] [--json OUT]`: layer × layer CKA (or a CCA-family baseline) of two sides — ONNX models (run on the probe
 * set, through the activation cache), directories written by `extract`, folders of .npy files or
 * .npy files; only A compares A with itself. With --json the result document is written to OUT
 * (one object, or an array for several measures); otherwise a compact table is printed.
 */
import type { Command } from 'commander';
import type { ComparedSide, ComparisonResult, JobProgress, SimilarityMatrix } from '../../common/contract.js';
import { WorkbenchError } from '../../common/errors.js';
import { writeFileAtomic } from '../../api/node-files.js';
import { APP_NAME } from '../../api/app-info.js';
import { measureTitle } from '../../common/measures.js';
import { createWorkbench } from '../../api/workbench.js';
import type { CliContext } from '../context.js';
import { runJob } from '../jobs.js';
import { integerOption } from '../options.js';

/** One side of a compare document: what was given, and where its activations came from. */
interface SideDocument {
  path: string;
  kind: ComparedSide['kind'];
  sha256?: string;
  model?: { path: string; sha256: string };
  probe?: { spec: string; hash: string; n: number };
  layers: { tensor: string; name: string }[];
}

/**
 * What `compare --json` writes per measure: the result's matrix with both sides' provenance and
 * the app version (an array of them for several measures).
 */
export interface CompareDocument extends Omit<SimilarityMatrix, 'rows' | 'cols' | 'form' | 'timingsMs'> {
  rows: SideDocument;
  cols: SideDocument;
  form?: SimilarityMatrix['form'];
  timings: Record<string, number>;
  /** Minibatch CKA: batches used and examples of the last partial batch left out. */
  batches?: { count: number; size: number; droppedExamples: number; shuffleSeed?: number };
  app: { name: string; version: string; onnxruntime: string };
}

function sideDocument(side: ComparedSide, layers: SideDocument['layers']): SideDocument {
  return {
    path: side.path,
    kind: side.kind,
    ...(side.model ? { sha256: side.model.sha256, model: side.model } : {}),
    ...(side.probe ? { probe: side.probe } : {}),
    layers,
  };
}

export function compareDocuments(result: ComparisonResult): CompareDocument[] {
  const app = { name: APP_NAME, version: result.provenance.appVersion, onnxruntime: result.provenance.onnxruntime };
  return result.matrices.map((m) => {
    const { rows, cols, form, timingsMs, ...matrix } = m;
    const p = m.measure.params;
    return {
      ...matrix,
      rows: sideDocument(result.sides[rows.model]!, rows.layers),
      cols: sideDocument(result.sides[cols.model]!, cols.layers),
      ...(form ? { form } : {}),
      timings: timingsMs ?? {},
      ...(m.measure.name === 'minibatch' && p.batches !== undefined
        ? {
            batches: {
              count: p.batches,
              size: p.batchSize!,
              droppedExamples: p.droppedExamples ?? 0,
              ...(p.shuffleSeed !== undefined ? { shuffleSeed: p.shuffleSeed } : {}),
            },
          }
        : {}),
      app,
    };
  });
}

interface CompareOptions {
  measure: string[];
  layers?: string;
  probe?: string;
  bootstrap?: string;
  seed?: string;
  level?: string;
  threads?: string;
  precision?: string;
  memoryBudget?: string;
  cache?: string;
  json?: string;
}

const isCkaName = (name: string) => name === 'linear' || name === 'rbf' || name === 'debiased' || name === 'minibatch';

function shortName(name: string, width: number): string {
  return name.length <= width ? name : `…${name.slice(name.length - width + 1)}`;
}

/** Rows × columns with layer names, values to 3 decimals, `—` where undefined, ± half the interval when bootstrapped. */
export function formatCompareTable(doc: CompareDocument): string {
  const width = 14;
  const cell = (r: number, c: number) => {
    const v = doc.matrix[r]![c];
    if (v === null || v === undefined) return '—';
    const lo = doc.ci?.lo[r]![c];
    const hi = doc.ci?.hi[r]![c];
    return lo !== undefined && lo !== null && hi !== undefined && hi !== null
      ? `${v.toFixed(3)} [${lo.toFixed(2)},${hi.toFixed(2)}]`
      : v.toFixed(3);
  };
  const colWidth = Math.max(8, ...doc.cols.layers.map((l) => Math.min(width, l.name.length)), doc.ci ? 19 : 0);
  const rowWidth = Math.max(...doc.rows.layers.map((l) => Math.min(width * 2, l.name.length)), 4);
  const params = Object.entries(doc.measure.params)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
  const title = isCkaName(doc.measure.name)
    ? `${doc.measure.name} CKA${params ? ` (${params})` : ''}`
    : measureTitle(doc.measure);
  const lines = [
    `${title}, n = ${doc.n}${doc.ci ? `, ${doc.ci.level * 100}% bootstrap intervals (${doc.ci.samples} resamples)` : ''}`,
    `rows: ${doc.rows.path}    columns: ${doc.cols.path}`,
    '',
    `${''.padEnd(rowWidth)}  ${doc.cols.layers.map((l) => shortName(l.name, colWidth).padStart(colWidth)).join('  ')}`,
    ...doc.rows.layers.map(
      (l, r) =>
        `${shortName(l.name, rowWidth * 2).padEnd(rowWidth)}  ${doc.cols.layers.map((_, c) => cell(r, c).padStart(colWidth)).join('  ')}`,
    ),
  ];
  if (doc.batches)
    lines.push(
      '',
      `${doc.batches.count} batches of ${doc.batches.size}; ${doc.batches.droppedExamples} examples of the last partial batch left out`,
    );
  if (doc.undefined.length > 0) {
    const reasons = [...new Set(doc.undefined.map((u) => u.reason))];
    lines.push('', '— undefined:', ...reasons.map((r) => `  ${r}`));
  }
  return lines.join('\n');
}

function progressPrinter(): ((p: JobProgress) => void) | undefined {
  if (!process.stderr.isTTY) return undefined;
  return (p) => process.stderr.write(`\r${p.message}\x1b[K`);
}

export function registerCompare(program: Command, context: CliContext): void {
  program
    .command('compare')
    .description('CKA (or a CCA-family baseline) of every layer of A against every layer of B (or of A with itself)')
    .argument(
      '<a>',
      'an ONNX model, a directory written by extract, a folder of .npy files or an .npy file [examples, features]',
    )
    .argument('[b]', 'the other side (default: A against itself)')
    .option(
      '--measure <m>',
      'linear, rbf:T, debiased, debiased-rbf:T, minibatch:B[:SEED]; the baselines cca, cca-r2, svcca:T, svcca-r2:T, pwcca, linreg, procrustes; repeat for several',
      (v: string, all: string[]) => [...all, v],
      [],
    )
    .option(
      '--layers <sel>',
      'all, op:Relu,Conv, tensor or layer names (comma separated); for models also preset:… (default preset:blocks)',
    )
    .option('--probe <spec>', 'the probe set: models run on it, directories must have been extracted with it')
    .option('--bootstrap <n>', 'percentile bootstrap intervals from N resamples')
    .option('--seed <s>', 'seed of the bootstrap resamples', '0')
    .option('--level <q>', 'coverage of the bootstrap intervals', '0.95')
    .option('--threads <t>', 'worker threads (default: the machine’s cores)')
    .option('--precision <p>', 'Gram precision: auto, float32 or float64', 'auto')
    .option('--memory-budget <mib>', 'memory exact CKA may use, in MiB')
    .option('--cache <dir>', "activation cache for models (default: the app's data directory)")
    .option('--json <out>', 'write the result document to this file instead of printing a table')
    .action(async (a: string, b: string | undefined, options: CompareOptions) => {
      const level = Number(options.level);
      if (!(level > 0 && level < 1))
        throw new WorkbenchError('BAD_INPUT', `--level must be between 0 and 1, got '${options.level}'`);
      const precision = options.precision ?? 'auto';
      if (precision !== 'auto' && precision !== 'float32' && precision !== 'float64') {
        throw new WorkbenchError('BAD_INPUT', `--precision must be auto, float32 or float64, got '${precision}'`);
      }
      for (const side of b === undefined ? [a] : [a, b]) {
        if (side.toLowerCase().endsWith('.onnx') && options.probe === undefined) {
          throw new WorkbenchError(
            'BAD_INPUT',
            `${side}: comparing models needs --probe (the examples to run them on)`,
          );
        }
      }
      const samples = integerOption(options.bootstrap, '--bootstrap', 2);
      const budgetMiB = integerOption(options.memoryBudget, '--memory-budget', 1);
      const threads = integerOption(options.threads, '--threads', 1);
      const api =
        options.cache === undefined
          ? context.api
          : createWorkbench({ trustCaller: true, activationCacheDir: options.cache });
      const onProgress = progressPrinter();
      try {
        const result = await runJob(api, onProgress, (jobId) =>
          api.compareLayers({
            a,
            ...(b !== undefined ? { b } : {}),
            ...(options.probe !== undefined ? { probe: options.probe } : {}),
            ...(options.layers !== undefined ? { layers: options.layers } : {}),
            measures: options.measure.length > 0 ? options.measure : ['linear'],
            ...(samples !== undefined
              ? { bootstrap: { samples, seed: integerOption(options.seed, '--seed', 0)!, level } }
              : {}),
            ...(threads !== undefined ? { threads } : {}),
            ...(budgetMiB !== undefined ? { memoryBudgetMiB: budgetMiB } : {}),
            precision,
            jobId,
          }),
        );
        if (onProgress) process.stderr.write('\r\x1b[K');
        const docs = compareDocuments(result);
        if (options.json !== undefined) {
          await writeFileAtomic(options.json, `${JSON.stringify(docs.length === 1 ? docs[0] : docs, null, 1)}\n`);
        } else {
          context.print(docs.map(formatCompareTable).join('\n\n'));
        }
      } finally {
        if (api !== context.api) await api.close();
      }
    });
}
