/**
 * `cka-workbench compare A [B] --probe SPEC --layers SEL --measure M [--bootstrap N --seed S]
 * [--threads T] [--json OUT]`: layer × layer CKA of two sides — ONNX models (run on the probe
 * set, through the activation cache), directories written by `extract`, folders of .npy files or
 * .npy files; only A compares A with itself. With --json the result document is written to OUT
 * (one object, or an array for several measures); otherwise a compact table is printed.
 */
import { join } from 'node:path';
import type { Command } from 'commander';
import { WorkbenchError } from '../../common/errors.js';
import { appInfo } from '../../api/app-info.js';
import { defaultDataDir } from '../../api/data-dir.js';
import { writeFileAtomic } from '../../engine/io/atomic.js';
import { compareFiles, type CompareDocument } from '../../engine/cka/compare-files.js';
import { CkaEngine, parseMeasure, type CkaProgress, type GramPrecision } from '../../engine/similarity/index.js';
import type { CliContext } from '../context.js';
import { integerOption } from '../options.js';

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
  const lines = [
    `${doc.measure.name} CKA${params ? ` (${params})` : ''}, n = ${doc.n}${doc.ci ? `, ${doc.ci.level * 100}% bootstrap intervals (${doc.ci.samples} resamples)` : ''}`,
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

function progressPrinter(): ((p: CkaProgress) => void) | undefined {
  if (!process.stderr.isTTY) return undefined;
  return (p) => process.stderr.write(`\r${p.stage} ${p.done}/${p.total}${p.layer ? ` (${p.layer})` : ''}\x1b[K`);
}

export function registerCompare(program: Command, context: CliContext): void {
  program
    .command('compare')
    .description('CKA of every layer of A against every layer of B (or of A with itself)')
    .argument(
      '<a>',
      'an ONNX model, a directory written by extract, a folder of .npy files or an .npy file [examples, features]',
    )
    .argument('[b]', 'the other side (default: A against itself)')
    .option(
      '--measure <m>',
      'linear, rbf:T, debiased, debiased-rbf:T, minibatch:B[:SEED]; repeat for several',
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
    .option('--cache <dir>', 'activation cache for models (default: the app data directory)')
    .option('--json <out>', 'write the result document to this file instead of printing a table')
    .action(async (a: string, b: string | undefined, options: CompareOptions) => {
      const measures = (options.measure.length > 0 ? options.measure : ['linear']).map(parseMeasure);
      const samples = integerOption(options.bootstrap, '--bootstrap', 2);
      const level = Number(options.level);
      if (!(level > 0 && level < 1))
        throw new WorkbenchError('BAD_INPUT', `--level must be between 0 and 1, got '${options.level}'`);
      if (!['auto', 'float32', 'float64'].includes(options.precision ?? 'auto')) {
        throw new WorkbenchError(
          'BAD_INPUT',
          `--precision must be auto, float32 or float64, got '${options.precision}'`,
        );
      }
      const budgetMiB = integerOption(options.memoryBudget, '--memory-budget', 1);
      const threads = integerOption(options.threads, '--threads', 1);
      const engine = new CkaEngine({
        ...(threads !== undefined ? { threads } : {}),
        ...(budgetMiB !== undefined ? { memoryBudgetBytes: budgetMiB * 2 ** 20 } : {}),
        precision: (options.precision ?? 'auto') as GramPrecision,
      });
      const info = appInfo();
      const onProgress = progressPrinter();
      try {
        const docs = await compareFiles(
          engine,
          {
            a,
            ...(b !== undefined ? { b } : {}),
            ...(options.probe !== undefined ? { probe: options.probe } : {}),
            ...(options.layers !== undefined ? { layers: options.layers } : {}),
            measures,
            activationCacheDir: options.cache ?? join(defaultDataDir(), 'activations'),
            ...(samples !== undefined
              ? { bootstrap: { samples, seed: integerOption(options.seed, '--seed', 0)!, level } }
              : {}),
          },
          { name: info.name, version: info.version, onnxruntime: info.onnxruntime },
          onProgress ? { onProgress } : {},
        );
        if (onProgress) process.stderr.write('\r\x1b[K');
        if (options.json !== undefined) {
          await writeFileAtomic(options.json, `${JSON.stringify(docs.length === 1 ? docs[0] : docs, null, 1)}\n`);
        } else {
          context.print(docs.map(formatCompareTable).join('\n\n'));
        }
      } finally {
        await engine.close();
      }
    });
}
