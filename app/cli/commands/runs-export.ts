/**
 * `cka-workbench runs export RUN --format json|csv|npy|svg`: a run's result as a file — all of
 * it (json), one matrix by index (`--matrix I`), one ordered pair of its models (`--pair I,J`,
 * 0-based in the run's order, `--measure M`), or a seeds summary (`--seeds-mean M`,
 * `--seeds-std M`) — and for svg the figure's style, as the app's figure options name it.
 */
import type { Command } from 'commander';
import type { ExportRequest, FigureOptions } from '../../common/contract.js';
import { WorkbenchError } from '../../common/errors.js';
import { figureOptionProblems } from '../../common/figures/figure-options.js';
import type { CliContext } from '../context.js';
import { nodeFiles } from '../lazy.js';
import { integerOption } from '../options.js';
import { resolveRunId } from '../run-ids.js';
import { addDataDirOption, withApi } from './run-support.js';

interface ExportOptions {
  format: string;
  matrix?: string;
  pair?: string;
  measure?: string;
  seedsMean?: string;
  seedsStd?: string;
  out?: string;
  dataDir?: string;
  colormap?: string;
  range?: string;
  bestMatch?: boolean;
  labels?: string;
  origin?: string;
  squareCells: boolean;
  fontSize?: string;
  width?: string;
}

function oneOf<T extends string>(value: string | undefined, flag: string, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new WorkbenchError('BAD_INPUT', `${flag} must be ${allowed.join(' or ')}, got '${value}'`);
  }
  return value as T;
}

/** `I,J` → { rows: I, cols: J }. */
export function parsePair(text: string): { rows: number; cols: number } {
  const match = /^\s*(\d+)\s*,\s*(\d+)\s*$/.exec(text);
  if (!match) throw new WorkbenchError('BAD_INPUT', `--pair takes two model indices I,J (0-based), got '${text}'`);
  return { rows: Number(match[1]), cols: Number(match[2]) };
}

/** `unit`, `data` or `LO,HI`. */
function parseRange(text: string): FigureOptions['range'] {
  if (text === 'unit' || text === 'data') return text;
  const parts = text.split(',').map((p) => Number(p.trim()));
  if (parts.length !== 2 || parts.some((p) => !Number.isFinite(p))) {
    throw new WorkbenchError('BAD_INPUT', `--range takes unit, data or LO,HI, got '${text}'`);
  }
  return [parts[0]!, parts[1]!];
}

export function figureOptionsOf(options: ExportOptions): FigureOptions {
  const figure: FigureOptions = {};
  const colormap = oneOf(options.colormap, '--colormap', ['viridis', 'magma'] as const);
  if (colormap) figure.colormap = colormap;
  if (options.range !== undefined) figure.range = parseRange(options.range);
  if (options.bestMatch) figure.bestMatch = true;
  const labels = oneOf(options.labels, '--labels', ['names', 'indices'] as const);
  if (labels) figure.axisLabels = labels;
  const origin = oneOf(options.origin, '--origin', ['top', 'bottom'] as const);
  if (origin) figure.origin = origin;
  if (!options.squareCells) figure.squareCells = false;
  if (options.fontSize !== undefined) figure.fontSize = Number(options.fontSize);
  const width = integerOption(options.width, '--width', 1);
  if (width !== undefined) figure.width = width;
  const problems = figureOptionProblems(figure);
  if (problems.length > 0) throw new WorkbenchError('BAD_INPUT', problems.join('; '));
  return figure;
}

export function registerRunsExport(runs: Command, context: CliContext): void {
  addDataDirOption(
    runs
      .command('export')
      .description(
        "a run's result as a file: json (all of it, or one pair's matrix) or one matrix as csv, npy (float64) or svg",
      )
      .argument('<run>', 'run id (or a prefix only one run has)')
      .requiredOption('--format <f>', 'json, csv, npy or svg')
      .option('--matrix <i>', 'which matrix (csv/npy/svg; see runs show --json)')
      .option('--pair <i,j>', "the matrix of models I (rows) and J (columns), 0-based in the run's order")
      .option('--measure <m>', "with --pair: the run's M-th measure (0-based, as runs show lists them)", '0')
      .option('--seeds-mean <m>', "seeds runs: the mean over pairs of measure M's summary")
      .option('--seeds-std <m>', "seeds runs: the standard deviation over pairs of measure M's summary")
      .option('--out <file>', 'where to write it (default: a name from the result, in the current folder)')
      .option('--colormap <name>', 'svg: viridis or magma')
      .option('--range <r>', 'svg: colour bar from 0 to 1 (unit), over the values (data), or LO,HI')
      .option('--best-match', "svg: mark each row's highest value")
      .option('--labels <kind>', 'svg: layer names or indices on the axes')
      .option('--origin <where>', 'svg: row 0 at the top or bottom')
      .option('--no-square-cells', 'svg: a square plot instead of square cells')
      .option('--font-size <px>', 'svg: size of the labels (6–32)')
      .option('--width <px>', "svg: the figure's width (160–4000)"),
  ).action(async (given: string, options: ExportOptions) => {
    const format = oneOf(options.format, '--format', ['json', 'csv', 'npy', 'svg'] as const)!;
    const chosen = [options.matrix, options.pair, options.seedsMean, options.seedsStd].filter((o) => o !== undefined);
    if (chosen.length > 1) {
      throw new WorkbenchError('BAD_INPUT', 'give one of --matrix, --pair, --seeds-mean, --seeds-std');
    }
    const request: ExportRequest = { runId: given, format };
    const matrix = integerOption(options.matrix, '--matrix', 0);
    if (matrix !== undefined) request.matrix = matrix;
    if (options.pair !== undefined) {
      request.pair = { ...parsePair(options.pair), measure: integerOption(options.measure, '--measure', 0)! };
    }
    const mean = integerOption(options.seedsMean, '--seeds-mean', 0);
    const std = integerOption(options.seedsStd, '--seeds-std', 0);
    if (mean !== undefined) request.seeds = { measure: mean, statistic: 'mean' };
    if (std !== undefined) request.seeds = { measure: std, statistic: 'std' };
    const figure = figureOptionsOf(options);
    if (Object.keys(figure).length > 0) request.figure = figure;
    await withApi(context, options.dataDir, async (api) => {
      request.runId = await resolveRunId(api, given);
      const file = await api.exportRun(request);
      const out = options.out ?? file.fileName;
      const { writeFileAtomic } = await nodeFiles();
      await writeFileAtomic(out, Buffer.from(file.data, file.encoding === 'base64' ? 'base64' : 'utf8'));
      context.print(`wrote ${out} (${file.bytes} bytes)`);
    });
  });
}
