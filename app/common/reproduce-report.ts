/**
 * The paper's two findings on the shipped zoo, as numbers (Kornblith et al. 2019), and the ViT
 * against the CNN (the question of Raghu et al. 2021):
 *
 * - Table 2, the sanity check: over every pair of seed models and each measure, the fraction of
 *   layers whose most similar layer in the other network is the corresponding one (both
 *   directions, logits excluded) — taken from the seeds run's summaries;
 * - Figure 3, the depth pathology: each depth's linear-CKA self-similarity matrix, summarised by
 *   the mean off-diagonal CKA among the last half of its layers and the longest run of
 *   consecutive layers that are all at least {@link BLOCK_THRESHOLD} similar to each other;
 * - ViT vs CNN: the transformer's layers × the CNN's layers, and for each transformer layer the
 *   CNN layer it resembles most.
 */
import type { ExperimentResult, LayerRef, SeedsSummary, SimilarityMatrix } from './contract.js';
import { WorkbenchError } from './errors.js';
import { measureLabel, measureTitle } from './measures.js';

/**
 * The paper's Table 2: accuracy of the sanity check on CIFAR-10 plain CNNs (10 networks, 10
 * layers), by measure label. SVCCA keeps 99% of the variance; PWCCA and linear regression are
 * symmetrised as m(X, Y) + m(Y, X). The paper has no Procrustes row (Ding et al. 2021 came later).
 */
export const PAPER_TABLE_2: Record<string, number> = {
  linear: 0.993,
  'rbf(threshold=0.4)': 0.991,
  'rbf(threshold=0.8)': 0.993,
  cca: 0.014,
  'cca-r2': 0.106,
  'svcca(keep=0.99)': 0.099,
  'svcca-r2(keep=0.99)': 0.151,
  pwcca: 0.111,
  linreg: 0.454,
};

/** CKA at or above this between every two layers of a run of consecutive layers makes a "block". */
export const BLOCK_THRESHOLD = 0.8;

export interface SanityRow {
  /** The measure's label (`linear`, `svcca(keep=0.99)`); `title` says it for people. */
  measure: string;
  title: string;
  accuracy: number;
  /** Chance level: 1 / (layers compared). */
  chance: number;
  paper: number | null;
  /**
   * Layers (of those compared) with a defined value against some other layer: a layer whose every
   * cell is undefined (e.g. CCA where it has as many features as examples) counts as a miss.
   */
  definedLayers: number;
  /** Ranked by m(A, B) + m(B, A) (asymmetric measures, as the paper's Table 2). */
  symmetrised: boolean;
  accuracyPerPair: { rowModel: string; colModel: string; accuracy: number }[];
}

export interface DepthFigure {
  model: string;
  label: string;
  layers: LayerRef[];
  /** Linear CKA, layers × layers. */
  matrix: (number | null)[][];
  meanOffDiagonal: number;
  /** Mean of the off-diagonal CKA among the last ⌈L/2⌉ layers. */
  lastHalfMeanOffDiagonal: number;
  /** The longest run [first, last] of consecutive layers all pairwise ≥ BLOCK_THRESHOLD. */
  largestBlock: { first: number; last: number; size: number };
}

export interface VitVsCnn {
  runId: string;
  /** The transformer (rows) and the CNN (columns). */
  models: [string, string];
  /** How both were reduced to one row per example. */
  reduction: string;
  rows: LayerRef[];
  cols: LayerRef[];
  /** Linear CKA, transformer layers × CNN layers. */
  matrix: (number | null)[][];
  /** Per transformer layer, the CNN layer most similar to it. */
  bestMatch: { layer: string; match: string; value: number }[];
}

export interface ReproduceReport {
  version: 1;
  appVersion: string;
  createdAt: string;
  probe: { spec: string; hash: string; n: number };
  sanity: {
    runId: string;
    /** The run of the baselines preset (CCA family, Procrustes), when the report has one. */
    baselinesRunId?: string;
    models: string[];
    layers: LayerRef[];
    rows: SanityRow[];
  };
  depth: { runId: string; blockThreshold: number; figures: DepthFigure[] };
  /**
   * The same sanity check with every layer averaged over its spatial positions (`mean`: a conv
   * layer's channels), so that every layer has fewer features than examples and the CCA family is
   * defined on all of them: it tells "undefined" apart from "wrong".
   */
  pooled?: { runId: string; reduction: 'mean'; rows: SanityRow[] };
  vitVsCnn?: VitVsCnn;
}

/** The ViT vs CNN run's matrix and each transformer layer's best match among the CNN's layers. */
export function vitVsCnnSection(run: { runId: string; result: ExperimentResult }): VitVsCnn {
  const m = run.result.matrices.find((x) => x.measure.name === 'linear');
  if (!m || run.result.partial)
    throw new WorkbenchError('INTERNAL', 'the ViT vs CNN run has no complete linear matrix');
  const reductions = [...new Set([...m.rows.layers, ...m.cols.layers].map((l) => l.reduction ?? 'flatten'))];
  return {
    runId: run.runId,
    models: [run.result.models[m.rows.model]!.label, run.result.models[m.cols.model]!.label],
    reduction: reductions.join('/'),
    rows: m.rows.layers,
    cols: m.cols.layers,
    matrix: m.matrix,
    bestMatch: m.rows.layers.map((layer, r) => {
      let best = -1;
      m.matrix[r]!.forEach((v, c) => {
        if (v !== null && (best < 0 || v > (m.matrix[r]![best] as number))) best = c;
      });
      return {
        layer: layer.name,
        match: best >= 0 ? m.cols.layers[best]!.name : '—',
        value: best >= 0 ? (m.matrix[r]![best] as number) : NaN,
      };
    }),
  };
}

function offDiagonalMean(matrix: (number | null)[][], from: number, to: number): number {
  let sum = 0;
  let count = 0;
  for (let r = from; r < to; r++) {
    for (let c = from; c < to; c++) {
      const v = matrix[r]![c];
      if (r === c || v === null || v === undefined) continue;
      sum += v;
      count++;
    }
  }
  return count > 0 ? sum / count : NaN;
}

/** The longest run of consecutive layers whose every pair is ≥ threshold (O(L³), L is small). */
export function largestBlock(matrix: (number | null)[][], threshold = BLOCK_THRESHOLD) {
  const size = matrix.length;
  let best = { first: 0, last: 0, size: size > 0 ? 1 : 0 };
  for (let first = 0; first < size; first++) {
    let last = first;
    extend: while (last + 1 < size) {
      const next = last + 1;
      for (let k = first; k < next; k++) {
        const v = matrix[k]![next];
        const w = matrix[next]![k];
        if (v === null || v === undefined || v < threshold || w === null || w === undefined || w < threshold) {
          break extend;
        }
      }
      last = next;
    }
    if (last - first + 1 > best.size) best = { first, last, size: last - first + 1 };
  }
  return best;
}

export function depthFigure(result: ExperimentResult, m: SimilarityMatrix): DepthFigure {
  const model = result.models[m.rows.model]!;
  const size = m.matrix.length;
  return {
    model: model.path,
    label: model.label,
    layers: m.rows.layers,
    matrix: m.matrix,
    meanOffDiagonal: offDiagonalMean(m.matrix, 0, size),
    lastHalfMeanOffDiagonal: offDiagonalMean(m.matrix, Math.floor(size / 2), size),
    largestBlock: largestBlock(m.matrix),
  };
}

/**
 * The report from the seeds run (CKA), the depth run and, optionally, the baselines' seeds run on
 * the same models, layers and probe (its rows follow CKA's; a measure in both is taken once).
 */
export function buildReproduceReport(
  sanity: { runId: string; result: ExperimentResult },
  depth: { runId: string; result: ExperimentResult },
  appVersion: string,
  baselines?: { runId: string; result: ExperimentResult },
): ReproduceReport {
  for (const run of baselines ? [sanity, baselines] : [sanity]) {
    if ((run.result.seeds ?? []).length === 0 || run.result.partial) {
      throw new WorkbenchError('INTERNAL', 'a sanity-check run has no complete seeds summary');
    }
  }
  if (baselines && baselines.result.probe.hash !== sanity.result.probe.hash) {
    throw new WorkbenchError('INTERNAL', 'the two sanity-check runs used different probe sets');
  }
  const seen = new Set((sanity.result.seeds ?? []).map((s) => measureLabel(s.measure)));
  const seeds = [
    ...(sanity.result.seeds ?? []),
    ...(baselines?.result.seeds ?? []).filter((s) => !seen.has(measureLabel(s.measure))),
  ];
  const layers = sanity.result.models[0]!.layers;
  const excluded = new Set(layers.flatMap((l, i) => (l.tensor === 'logits' ? [i] : [])));
  const compared = layers.length - excluded.size;
  const label = (i: number) => sanity.result.models[i]!.label;
  const selfMatrices = depth.result.matrices.filter(
    (m) => m.rows.model === m.cols.model && m.measure.name === 'linear',
  );
  if (depth.result.partial || selfMatrices.length !== depth.result.models.length) {
    throw new WorkbenchError('INTERNAL', 'the depth run lacks a linear self-similarity matrix for some model');
  }
  return {
    version: 1,
    appVersion,
    createdAt: new Date().toISOString(),
    probe: sanity.result.probe,
    sanity: {
      runId: sanity.runId,
      ...(baselines ? { baselinesRunId: baselines.runId } : {}),
      models: sanity.result.models.map((m) => m.label),
      layers,
      rows: sanityRows(seeds, excluded, compared, label),
    },
    depth: {
      runId: depth.runId,
      blockThreshold: BLOCK_THRESHOLD,
      figures: selfMatrices.sort((a, b) => a.rows.model - b.rows.model).map((m) => depthFigure(depth.result, m)),
    },
  };
}

function sanityRows(
  seeds: readonly SeedsSummary[],
  excluded: ReadonlySet<number>,
  compared: number,
  label: (model: number) => string,
): SanityRow[] {
  return seeds.map((s) => {
    const key = measureLabel(s.measure);
    return {
      measure: key,
      title: measureTitle(s.measure),
      accuracy: s.accuracy,
      chance: 1 / compared,
      paper: PAPER_TABLE_2[key] ?? null,
      definedLayers: definedLayers(s, excluded),
      symmetrised: s.symmetrised === true,
      accuracyPerPair: s.accuracyPerPair.map((p) => ({
        rowModel: label(p.rowModel),
        colModel: label(p.colModel),
        accuracy: p.accuracy,
      })),
    };
  });
}

/** The pooled sanity check's rows (a run of the baselines' spec with `reduce: mean`). */
export function pooledSanitySection(run: { runId: string; result: ExperimentResult }): ReproduceReport['pooled'] {
  if ((run.result.seeds ?? []).length === 0 || run.result.partial) {
    throw new WorkbenchError('INTERNAL', 'the pooled sanity-check run has no complete seeds summary');
  }
  const layers = run.result.models[0]!.layers;
  const excluded = new Set(layers.flatMap((l, i) => (l.tensor === 'logits' ? [i] : [])));
  const label = (i: number) => run.result.models[i]!.label;
  return {
    runId: run.runId,
    reduction: 'mean',
    rows: sanityRows(run.result.seeds!, excluded, layers.length - excluded.size, label),
  };
}

/** Compared layers whose row of the mean has a value among the compared columns. */
function definedLayers(summary: SeedsSummary, excluded: ReadonlySet<number>): number {
  let count = 0;
  summary.mean.forEach((row, r) => {
    if (excluded.has(r)) return;
    if (row.some((v, c) => !excluded.has(c) && v !== null)) count++;
  });
  return count;
}

const percent = (v: number) => `${(v * 100).toFixed(1)}%`;

/** The short markdown summary written next to report.json. */
export function reproduceSummaryMarkdown(report: ReproduceReport): string {
  const lines = [
    '# Reproduction of Kornblith et al. (2019) on the shipped zoo',
    '',
    `Probe: \`${report.probe.spec}\` (n = ${report.probe.n}). CKA Workbench ${report.appVersion}, ${report.createdAt}.`,
    '',
    '## Sanity check (Table 2)',
    '',
    `${report.sanity.models.length} plain CNNs trained from different seeds; ${report.sanity.layers.length} layers each (${report.sanity.layers.map((l) => l.name).join(', ')}). For every ordered pair of models, the fraction of layers whose most similar layer in the other model is the corresponding one.`,
    '',
    `| measure | accuracy here | chance | paper (CIFAR-10) | layers with a value |${report.pooled ? ' pooled (mean over positions) |' : ''}`,
    `| --- | ---: | ---: | ---: | ---: |${report.pooled ? ' ---: |' : ''}`,
    ...report.sanity.rows.map((r) => {
      const pooled = report.pooled?.rows.find((p) => p.measure === r.measure);
      const pooledCell = report.pooled ? ` ${pooled ? percent(pooled.accuracy) : '—'} |` : '';
      return `| ${r.measure} | ${percent(r.accuracy)} | ${percent(r.chance)} | ${r.paper === null ? '—' : percent(r.paper)} | ${r.definedLayers} of ${report.sanity.layers.length - excludedCount(report)}${r.symmetrised ? ' (symmetrised)' : ''} |${pooledCell}`;
    }),
    '',
    baselinesNote(report),
    ...(report.pooled
      ? [
          '',
          "The last column repeats the check with every layer averaged over its spatial positions (`reduce: mean`: a conv layer becomes its channels, at most 64 features for 1000 examples), so every measure has a value on every layer: there the baselines' misses are misses, not undefined cells.",
        ]
      : []),
    '',
    '## Depth (Figure 3)',
    '',
    `Linear-CKA self-similarity of every layer against every layer, per depth. A block is a run of consecutive layers all at least ${report.depth.blockThreshold} similar to each other.`,
    '',
    '| model | layers | mean off-diagonal CKA | last half: mean off-diagonal CKA | largest block |',
    '| --- | ---: | ---: | ---: | --- |',
    ...report.depth.figures.map(
      (f) =>
        `| ${f.label} | ${f.layers.length} | ${f.meanOffDiagonal.toFixed(3)} | ${f.lastHalfMeanOffDiagonal.toFixed(3)} | ${f.largestBlock.size} layers (${f.layers[f.largestBlock.first]?.name} … ${f.layers[f.largestBlock.last]?.name}) |`,
    ),
    '',
    describeDepthTrend(report.depth.figures),
    '',
    ...(report.vitVsCnn ? vitVsCnnMarkdown(report.vitVsCnn) : []),
  ];
  return lines.join('\n');
}

function vitVsCnnMarkdown(v: VitVsCnn): string[] {
  return [
    '## ViT vs CNN (Raghu et al. 2021)',
    '',
    `Linear CKA between the layers of ${v.models[0]} (rows) and ${v.models[1]} (columns), both reduced by ${v.reduction} (the transformer's tokens, the CNN's spatial positions). For each transformer layer, the CNN layer it resembles most:`,
    '',
    '| transformer layer | most similar CNN layer | CKA |',
    '| --- | --- | ---: |',
    ...v.bestMatch.map((b) => `| ${b.layer} | ${b.match} | ${b.value.toFixed(3)} |`),
    '',
  ];
}

function excludedCount(report: ReproduceReport): number {
  return report.sanity.layers.filter((l) => l.tensor === 'logits').length;
}

/** What the baseline rows mean here, from the numbers themselves. */
function baselinesNote(report: ReproduceReport): string {
  const rows = report.sanity.rows;
  const layers = report.sanity.layers.length - excludedCount(report);
  const partial = rows.filter((r) => r.definedLayers < layers);
  const cka = rows.find((r) => r.measure === 'linear');
  const lines: string[] = [];
  if (partial.length > 0) {
    lines.push(
      `${partial.map((r) => r.measure).join(', ')} ${partial.length === 1 ? 'is' : 'are'} undefined on layers with at least as many features as the ${report.probe.n} examples ` +
        '(CCA cannot tell anything apart there: every such layer is perfectly correlated with any other). ' +
        'A layer without a value counts as a miss, so their accuracy is bounded by the layers that have one (last column).',
    );
  }
  const baselines = rows.filter(
    (r) => PAPER_TABLE_2[r.measure] !== undefined && !r.measure.startsWith('rbf') && r.measure !== 'linear',
  );
  if (cka && baselines.length > 0) {
    const best = baselines.reduce((a, b) => (b.accuracy > a.accuracy ? b : a));
    lines.push(
      best.accuracy < cka.accuracy
        ? `Linear CKA (${percent(cka.accuracy)}) is ahead of every baseline of the paper's Table 2 here (the best, ${best.measure}, finds ${percent(best.accuracy)}), as in the paper.`
        : `Here ${best.measure} (${percent(best.accuracy)}) is not behind linear CKA (${percent(cka.accuracy)}).`,
    );
  }
  if (rows.some((r) => r.symmetrised)) {
    lines.push('PWCCA and linear regression are asymmetric; as in the paper, they are ranked by m(X, Y) + m(Y, X).');
  }
  return lines.join(' ');
}

function describeDepthTrend(figures: DepthFigure[]): string {
  if (figures.length < 2) return '';
  const first = figures[0]!;
  const last = figures[figures.length - 1]!;
  const grows = last.lastHalfMeanOffDiagonal > first.lastHalfMeanOffDiagonal;
  const blockGrows = last.largestBlock.size > first.largestBlock.size;
  return (
    `From ${first.label} to ${last.label} the mean off-diagonal CKA among the last half of the layers ` +
    `${grows ? 'grows' : 'does not grow'} (${first.lastHalfMeanOffDiagonal.toFixed(3)} → ${last.lastHalfMeanOffDiagonal.toFixed(3)}) ` +
    `and the largest block of mutually similar layers ${blockGrows ? 'grows' : 'does not grow'} ` +
    `(${first.largestBlock.size} of ${first.layers.length} layers → ${last.largestBlock.size} of ${last.layers.length}): ` +
    (grows && blockGrows
      ? 'the deeper network spends many of its later layers on near-identical representations, the block structure of the paper’s Figure 3.'
      : 'the block structure of the paper’s Figure 3 is not visible here.')
  );
}
