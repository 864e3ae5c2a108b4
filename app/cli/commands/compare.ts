/**
 * `cka-workbench compare A [B] --probe SPEC [--probe-b SPEC] --layers SEL [--layers-b SEL]
 * --measure M [--reduce R] [--bootstrap N --seed S] [--threads T] [--json OUT]`: layer × layer CKA (or a CCA-family
 * baseline)
 * of two sides — ONNX models (run on the probe set, through the activation cache), directories
 * written by `extract`, folders of .npy files or .npy files; only A compares A with itself. B may
 * see the same examples through its own probe (`--probe-b`: its size, layout, normalisation or
 * tokenizer). With --json the result document is written to OUT (one object, or an array for
 * several measures); otherwise a compact table is printed. Layers that could not be compared are
 * listed with the reason either way (`omitted`).
 */
import type { Command } from 'commander';
import type {
  ComparedSide,
  ComparisonResult,
  JobProgress,
  LayerRef,
  OmittedLayer,
  SimilarityMatrix,
} from '../../common/contract.js';
import { WorkbenchError } from '../../common/errors.js';
import { REDUCTION_HELP, reduceSpecFromFlags } from '../../common/reductions.js';
import { APP_NAME } from '../../api/app-info.js';
import { measureTitle } from '../../common/measures.js';
import type { CliContext } from '../context.js';
import { runJob } from '../jobs.js';
import { nodeFiles, runnerPrestart } from '../lazy.js';
import { integerOption } from '../options.js';

/** One side of a compare document: what was given, and where its activations came from. */
interface SideDocument {
  path: string;
  kind: ComparedSide['kind'];
  sha256?: string;
  model?: { path: string; sha256: string };
  probe?: { spec: string; hash: string; n: number };
  /** Each layer's tensor, short name and reduction (left out: flatten). */
  layers: LayerRef[];
  /** Selected layers of this side that are not in the matrix, and why. */
  omitted?: OmittedLayer[];
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
  /** Every selected layer is in rows/cols or here, with the reason ('side': rows or cols). */
  omitted: (OmittedLayer & { side: 'rows' | 'cols' })[];
  app: { name: string; version: string; onnxruntime: string };
}

function sideDocument(side: ComparedSide, layers: SideDocument['layers']): SideDocument {
  return {
    path: side.path,
    kind: side.kind,
    ...(side.model ? { sha256: side.model.sha256, model: side.model } : {}),
    ...(side.probe ? { probe: side.probe } : {}),
    layers,
    ...(side.omitted && side.omitted.length > 0 ? { omitted: side.omitted } : {}),
  };
}

export function compareDocuments(result: ComparisonResult): CompareDocument[] {
  const app = { name: APP_NAME, version: result.provenance.appVersion, onnxruntime: result.provenance.onnxruntime };
  return result.matrices.map((m) => {
    const { rows, cols, form, timingsMs, ...matrix } = m;
    const p = m.measure.params;
    const omittedOf = (side: ComparedSide, which: 'rows' | 'cols') =>
      (side.omitted ?? []).map((o) => ({ side: which, ...o }));
    const rowSide = result.sides[rows.model]!;
    const colSide = result.sides[cols.model]!;
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
      omitted: [...omittedOf(rowSide, 'rows'), ...(colSide === rowSide ? [] : omittedOf(colSide, 'cols'))],
      app,
    };
  });
}

interface CompareOptions {
  measure: string[];
  layers?: string;
  layersB?: string;
  probe?: string;
  probeB?: string;
  tokenizer?: string;
  tokenizerB?: string;
  maskInput?: string;
  reduce?: string;
  reduceLayer: string[];
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
  const reductions = [...new Set([...doc.rows.layers, ...doc.cols.layers].map((l) => l.reduction ?? 'flatten'))];
  const reduced = reductions.length === 1 && reductions[0] === 'flatten' ? '' : `, reduced by ${reductions.join('/')}`;
  const title = isCkaName(doc.measure.name)
    ? `${doc.measure.name} CKA${params ? ` (${params})` : ''}`
    : measureTitle(doc.measure);
  const lines = [
    `${title}, n = ${doc.n}${reductions.includes('tokens') ? ' tokens' : ''}${reduced}${doc.ci ? `, ${doc.ci.level * 100}% bootstrap intervals (${doc.ci.samples} resamples)` : ''}`,
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
  lines.push(...formatOmitted(doc.omitted));
  return lines.join('\n');
}

/** The layers left out, each with its reason (a side's name when both sides have some). */
export function formatOmitted(omitted: CompareDocument['omitted']): string[] {
  if (omitted.length === 0) return [];
  const sides = new Set(omitted.map((o) => o.side)).size > 1;
  return [
    '',
    `omitted (${omitted.length} selected layer${omitted.length === 1 ? '' : 's'} not compared):`,
    ...omitted.map((o) => `  ${sides ? `${o.side}: ` : ''}${o.name} (${o.tensor}): ${o.reason}`),
  ];
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
    .option('--layers-b <sel>', "B's own layer selection (default: --layers)")
    .option('--probe <spec>', 'the probe set: models run on it, directories must have been extracted with it')
    .option(
      '--probe-b <spec>',
      "B's own view of the same examples (its size, layout, normalisation or tokenizer); as many examples, same order",
    )
    .option('--reduce <r>', `how layers become rows: ${REDUCTION_HELP}`)
    .option(
      '--reduce-layer <name=r>',
      'one layer’s own reduction (repeat for several)',
      (v: string, all: string[]) => [...all, v],
      [],
    )
    .option('--tokenizer <path>', "text probes: A's tokenizer.json (and B's; default: the one beside each model)")
    .option('--tokenizer-b <path>', "text probes: B's tokenizer.json")
    .option('--mask-input <name>', 'the input that marks valid tokens (default: attention_mask)')
    .option('--bootstrap <n>', 'percentile bootstrap intervals from N resamples')
    .option('--seed <s>', 'seed of the bootstrap resamples', '0')
    .option('--level <q>', 'coverage of the bootstrap intervals', '0.95')
    .option('--threads <t>', 'worker threads (default: the machine’s cores)')
    .option('--precision <p>', 'Gram precision: auto, float32 or float64', 'auto')
    .option('--memory-budget <mib>', 'memory exact CKA may use, in MiB')
    .option(
      '--cache <dir>',
      "activation cache for models (default: the app's data directory, where the cache limit bounds it; a folder of your own is not bounded)",
    )
    .option('--json <out>', 'write the result document to this file instead of printing a table')
    .action(async (a: string, b: string | undefined, options: CompareOptions) => {
      const level = Number(options.level);
      if (!(level > 0 && level < 1))
        throw new WorkbenchError('BAD_INPUT', `--level must be between 0 and 1, got '${options.level}'`);
      const precision = options.precision ?? 'auto';
      if (precision !== 'auto' && precision !== 'float32' && precision !== 'float64') {
        throw new WorkbenchError('BAD_INPUT', `--precision must be auto, float32 or float64, got '${precision}'`);
      }
      const reduce = reduceSpecFromFlags(options.reduce, options.reduceLayer);
      if ('problem' in reduce) throw new WorkbenchError('BAD_INPUT', reduce.problem);
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
      // Each model runs in a runner process of its own: start them once the options are
      // checked, while the rest loads.
      const models = new Set([a, b].filter((side) => side?.toLowerCase().endsWith('.onnx')));
      if (models.size > 0) (await runnerPrestart()).prestartModelRunners(models.size);
      const own = options.cache !== undefined;
      const api = own ? await context.newWorkbench({ activationCacheDir: options.cache }) : await context.api();
      const onProgress = progressPrinter();
      try {
        const result = await runJob(api, onProgress, (jobId) =>
          api.compareLayers({
            a,
            ...(b !== undefined ? { b } : {}),
            ...(options.probe !== undefined ? { probe: options.probe } : {}),
            ...(options.probeB !== undefined ? { probeB: options.probeB } : {}),
            ...(options.layers !== undefined ? { layers: options.layers } : {}),
            ...(options.layersB !== undefined ? { layersB: options.layersB } : {}),
            ...(options.tokenizer !== undefined ? { tokenizer: options.tokenizer } : {}),
            ...(options.tokenizerB !== undefined ? { tokenizerB: options.tokenizerB } : {}),
            ...(options.maskInput !== undefined ? { maskInput: options.maskInput } : {}),
            ...(reduce.spec !== undefined ? { reduce: reduce.spec } : {}),
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
        for (const note of result.notes ?? []) process.stderr.write(`warning: ${note}\n`);
        const docs = compareDocuments(result);
        if (options.json !== undefined) {
          const { writeFileAtomic } = await nodeFiles();
          await writeFileAtomic(options.json, `${JSON.stringify(docs.length === 1 ? docs[0] : docs, null, 1)}\n`);
          // The file has the list too; a person running the command should not have to open it to learn of it.
          const omitted = formatOmitted(docs[0]?.omitted ?? []);
          if (omitted.length > 0) process.stderr.write(`${omitted.slice(1).join('\n')}\n`);
        } else {
          context.print(docs.map(formatCompareTable).join('\n\n'));
        }
      } finally {
        if (own) await api.close();
      }
    });
}
