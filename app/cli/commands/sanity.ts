/**
 * `cka-workbench sanity M1 M2 … Mk --probe SPEC --layers SEL --measure M --json OUT`: the seeds
 * sanity check of Kornblith et al. (2019) — k trainings of one architecture; for each measure, how
 * often a layer's most similar layer in another seed is the corresponding one (logits left out).
 * The JSON is the run's result (every ordered pair's matrix, the seeds summaries) with `accuracy`
 * (of the first measure) and `accuracyByMeasure` on top.
 */
import { basename, resolve } from 'node:path';
import type { Command } from 'commander';
import type { ExperimentResult, ExperimentSpec } from '../../common/contract.js';
import { measureLabel, measureTitle } from '../../common/measures.js';
import type { CliContext } from '../context.js';
import { nodeFiles } from '../lazy.js';
import { table } from '../output.js';
import { absoluteProbeSpec } from './run.js';
import { addDataDirOption, checkRunDone, runSpecToEnd, withApi } from './run-support.js';
import { integerOption } from '../options.js';

interface SanityOptions {
  probe: string;
  layers: string;
  measure: string[];
  json?: string;
  name?: string;
  bootstrap?: string;
  seed?: string;
  threads?: string;
  batchSize?: string;
  dataDir?: string;
  quiet?: boolean;
}

export interface SanityDocument extends ExperimentResult {
  runId: string;
  /** The first measure's accuracy. */
  accuracy: number;
  accuracyByMeasure: Record<string, number>;
}

export function sanityDocument(result: ExperimentResult, runId: string): SanityDocument {
  const byMeasure: Record<string, number> = {};
  for (const s of result.seeds ?? []) byMeasure[measureLabel(s.measure)] = s.accuracy;
  return { runId, accuracy: result.seeds?.[0]?.accuracy ?? NaN, accuracyByMeasure: byMeasure, ...result };
}

export function formatSanity(result: ExperimentResult): string {
  const letter = (i: number) => result.models[i]?.label ?? String(i);
  return (result.seeds ?? [])
    .map((s) => {
      const symmetrised = s.symmetrised ? ' (ranked by m(A, B) + m(B, A))' : '';
      const head = `${measureTitle(s.measure)}: ${(s.accuracy * 100).toFixed(1)}% of layers have their best match at the corresponding layer${symmetrised}`;
      const rows = s.accuracyPerPair.map((p) => [
        letter(p.rowModel),
        letter(p.colModel),
        `${(p.accuracy * 100).toFixed(1)}%`,
      ]);
      return `${head}\n${table(['rows', 'columns', 'accuracy'], rows)}`;
    })
    .join('\n\n');
}

export function registerSanity(program: Command, context: CliContext): void {
  addDataDirOption(
    program
      .command('sanity')
      .description('seeds sanity check: is each layer most similar to the same layer in other trainings?')
      .argument('<models...>', 'two or more ONNX models of one architecture (trained from different seeds)')
      .requiredOption(
        '--probe <spec>',
        'the probe set: fashion-mnist:N, npy:PATH, npz:PATH[:KEY], images:DIR, random:N',
      )
      .option('--layers <sel>', 'layer selection for every model (all, op:Relu, preset:blocks, names)', 'preset:blocks')
      .option(
        '--measure <m>',
        'linear, rbf:T, debiased, minibatch:B, or a baseline (cca, cca-r2, svcca:T, svcca-r2:T, pwcca, linreg, procrustes); repeat for several (default linear)',
        (v: string, all: string[]) => [...all, v],
        [],
      )
      .option('--json <out>', 'write the result (with accuracy) to this file')
      .option('--name <name>', 'name of the experiment in the history')
      .option('--bootstrap <n>', 'bootstrap intervals from N resamples')
      .option('--seed <s>', 'seed of the bootstrap resamples', '0')
      .option('--threads <t>', 'worker threads of the CKA core')
      .option('--batch-size <b>', 'examples per forward pass')
      .option('--quiet', 'no progress on stderr'),
  ).action(async (models: string[], options: SanityOptions) => {
    const samples = integerOption(options.bootstrap, '--bootstrap', 2);
    const threads = integerOption(options.threads, '--threads', 1);
    const batchSize = integerOption(options.batchSize, '--batch-size', 1);
    const spec: ExperimentSpec = {
      name: options.name ?? `sanity: ${models.map((m) => basename(m)).join(', ')}`.slice(0, 200),
      kind: 'seeds',
      models: models.map((m) => ({ path: resolve(m) })),
      probe: absoluteProbeSpec(options.probe, process.cwd()),
      layers: options.layers,
      measures: options.measure.length > 0 ? options.measure : ['linear'],
      options: {
        ...(samples !== undefined ? { bootstrap: { samples, seed: integerOption(options.seed, '--seed', 0)! } } : {}),
        ...(threads !== undefined ? { threads } : {}),
        ...(batchSize !== undefined ? { batchSize } : {}),
      },
    };
    await withApi(context, options.dataDir, async (api) => {
      const details = await runSpecToEnd(api, spec, { quiet: options.quiet ?? false });
      if (details.result) {
        if (options.json !== undefined) {
          const doc = sanityDocument(details.result, details.run.id);
          const { writeFileAtomic } = await nodeFiles();
          await writeFileAtomic(options.json, `${JSON.stringify(doc, null, 1)}\n`);
        }
        context.print(formatSanity(details.result));
      }
      checkRunDone(details);
    });
  });
}
