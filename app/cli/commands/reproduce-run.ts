/**
 * What `cka-workbench reproduce` does once its arguments are parsed: runs the presets, builds the
 * report and writes its files (imported only when the command runs: the figures and the report
 * code are not loaded for the other commands).
 */
import { join, resolve } from 'node:path';
import type { ExperimentPreset, ExperimentResult } from '../../common/contract.js';
import { APP_VERSION } from '../../api/app-info.js';
import { WorkbenchError } from '../../common/errors.js';
import type { Workbench } from '../../api/workbench.js';
import { heatmapSvg } from '../../common/figures/heatmap-svg.js';
import { fileStem } from '../../common/figures/names.js';
import {
  buildReproduceReport,
  pooledSanitySection,
  reproduceSummaryMarkdown,
  vitVsCnnSection,
  type ReproduceReport,
} from '../../common/reproduce-report.js';
import { measureLabel } from '../../common/measures.js';
import { writeFileAtomic } from '../../api/node-files.js';
import type { CliContext } from '../context.js';
import { integerOption } from '../options.js';
import { table } from '../output.js';
import { checkRunDone, runSpecToEnd, withApi } from './run-support.js';

export interface ReproduceOptions {
  out: string;
  probeSize?: string;
  dataDir?: string;
  quiet?: boolean;
}

async function runPreset(
  api: Workbench,
  preset: ExperimentPreset,
  probeSize: number | undefined,
  quiet: boolean,
): Promise<{ runId: string; result: ExperimentResult }> {
  if (!preset.available) {
    throw new WorkbenchError(
      'NOT_FOUND',
      `the shipped zoo is incomplete for "${preset.title}": missing ${preset.missing.join(', ')}`,
    );
  }
  const spec = probeSize === undefined ? preset.spec : { ...preset.spec, probe: `fashion-mnist:${probeSize}` };
  if (!quiet) process.stderr.write(`${preset.title}: ${spec.models.length} models on ${spec.probe}\n`);
  const details = await runSpecToEnd(api, spec, { quiet });
  checkRunDone(details);
  return { runId: details.run.id, result: details.result! };
}

function figureFiles(report: ReproduceReport, sanity: readonly ExperimentResult[]): { name: string; svg: string }[] {
  const summaries = new Map(sanity.flatMap((r) => r.seeds ?? []).map((s) => [measureLabel(s.measure), s] as const));
  const pairs = [...summaries.values()][0]?.accuracyPerPair.length ?? 0;
  const seedsLabel = `${report.sanity.models[0]} vs the other seeds (mean over ${pairs} ordered pairs)`;
  const sanityFigures = report.sanity.rows.map((row) => {
    const s = summaries.get(row.measure)!;
    const layers = report.sanity.layers.map((l) => l.name);
    return {
      name: `sanity-${fileStem(row.measure)}.svg`,
      svg: heatmapSvg({
        values: s.mean,
        rows: { title: 'model i (any seed)', labels: layers },
        cols: { title: 'model j (another seed)', labels: layers },
        title: `Seeds, ${row.title}: mean, accuracy ${(row.accuracy * 100).toFixed(1)}% — ${seedsLabel}`,
        valueLabel: row.title,
      }),
    };
  });
  const depthFigures = report.depth.figures.map((f) => {
    const layers = f.layers.map((l) => l.name);
    return {
      name: `depth-${fileStem(f.label)}.svg`,
      svg: heatmapSvg({
        values: f.matrix,
        rows: { title: f.label, labels: layers },
        cols: { title: f.label, labels: layers },
        title: `${f.label}: linear CKA between its layers (last half mean ${f.lastHalfMeanOffDiagonal.toFixed(3)})`,
        valueLabel: 'linear CKA',
      }),
    };
  });
  const vit = report.vitVsCnn;
  const vitFigure = vit
    ? [
        {
          name: 'vit-vs-cnn.svg',
          svg: heatmapSvg({
            values: vit.matrix,
            rows: { title: vit.models[0]!, labels: vit.rows.map((l) => l.name) },
            cols: { title: vit.models[1]!, labels: vit.cols.map((l) => l.name) },
            title: `${vit.models[0]} vs ${vit.models[1]}: linear CKA, ${vit.reduction} over tokens / positions`,
            valueLabel: 'linear CKA',
          }),
        },
      ]
    : [];
  return [...sanityFigures, ...depthFigures, ...vitFigure];
}

function printedSummary(report: ReproduceReport, out: string): string {
  const pct = (v: number) => `${(v * 100).toFixed(1)}%`;
  return [
    `sanity check on ${report.sanity.models.length} seeds, ${report.sanity.layers.length} layers, ${report.probe.spec}:`,
    table(
      ['measure', 'accuracy', 'chance', 'paper', 'layers with a value', ...(report.pooled ? ['pooled (mean)'] : [])],
      report.sanity.rows.map((r) => {
        const pooled = report.pooled?.rows.find((p) => p.measure === r.measure);
        return [
          r.measure,
          pct(r.accuracy),
          pct(r.chance),
          r.paper === null ? '—' : pct(r.paper),
          String(r.definedLayers),
          ...(report.pooled ? [pooled ? pct(pooled.accuracy) : '—'] : []),
        ];
      }),
    ),
    '',
    'depth (linear CKA self-similarity):',
    table(
      ['model', 'layers', 'last-half mean off-diagonal', 'largest block'],
      report.depth.figures.map((f) => [
        f.label,
        String(f.layers.length),
        f.lastHalfMeanOffDiagonal.toFixed(3),
        `${f.largestBlock.size} layers`,
      ]),
    ),
    '',
    ...(report.vitVsCnn
      ? [
          `${report.vitVsCnn.models[0]} vs ${report.vitVsCnn.models[1]} (linear CKA, ${report.vitVsCnn.reduction}): most similar CNN layer`,
          table(
            ['transformer layer', 'CNN layer', 'CKA'],
            report.vitVsCnn.bestMatch.map((b) => [b.layer, b.match, b.value.toFixed(3)]),
          ),
          '',
        ]
      : []),
    `wrote ${join(out, 'report.json')}, ${join(out, 'summary.md')} and the SVG figures`,
  ].join('\n');
}

export async function reproduce(context: CliContext, options: ReproduceOptions): Promise<void> {
  const probeSize = integerOption(options.probeSize, '--probe-size', 4);
  const out = resolve(options.out);
  await withApi(context, options.dataDir, async (api) => {
    const presets = await api.listPresets({});
    const find = (id: ExperimentPreset['id']) => {
      const preset = presets.find((p) => p.id === id);
      if (!preset) throw new WorkbenchError('INTERNAL', `the preset ${id} is missing`);
      return preset;
    };
    const quiet = options.quiet ?? false;
    const sanity = await runPreset(api, find('seeds-sanity'), probeSize, quiet);
    const baselines = await runPreset(api, find('seeds-baselines'), probeSize, quiet);
    const depth = await runPreset(api, find('depth-family'), probeSize, quiet);
    const report = buildReproduceReport(sanity, depth, APP_VERSION, baselines);
    // The baselines again with every layer pooled over positions, where CCA is defined everywhere.
    const table2 = find('seeds-baselines');
    report.pooled = pooledSanitySection(
      await runPreset(
        api,
        {
          ...table2,
          title: `${table2.title}, pooled`,
          spec: { ...table2.spec, name: `${table2.spec.name}, pooled (mean)`, reduce: 'mean' },
        },
        probeSize,
        quiet,
      ),
    );
    const vitPreset = find('vit-vs-cnn');
    if (vitPreset.available) report.vitVsCnn = vitVsCnnSection(await runPreset(api, vitPreset, probeSize, quiet));
    else if (!quiet) process.stderr.write(`skipped "${vitPreset.title}": missing ${vitPreset.missing.join(', ')}\n`);
    await writeFileAtomic(join(out, 'report.json'), `${JSON.stringify(report, null, 1)}\n`);
    await writeFileAtomic(join(out, 'summary.md'), reproduceSummaryMarkdown(report));
    for (const figure of figureFiles(report, [sanity.result, baselines.result]))
      await writeFileAtomic(join(out, figure.name), figure.svg);
    context.print(printedSummary(report, out));
  });
}
