/**
 * `cka-workbench reproduce [--out DIR]`: the paper's two findings on the shipped zoo — the seeds
 * sanity check (Table 2, CKA and the CCA-family baselines) and the depth pathology (Figure 3) —
 * and the ViT against the CNN (Raghu et al. 2021), run as the app's presets (so the runs land in
 * the history and the presets reuse them), then written as `report.json`, one SVG heatmap per
 * figure and `summary.md`.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import type { ReproduceOptions } from './reproduce-run.js';
import { addDataDirOption } from './run-support.js';

export function registerReproduce(program: Command, context: CliContext): void {
  addDataDirOption(
    program
      .command('reproduce')
      .description(
        "reproduce the paper's sanity check (Table 2) and depth pathology (Figure 3), and ViT vs CNN, on the shipped zoo",
      )
      .option('--out <dir>', 'where to write report.json, summary.md and the SVG figures', 'reproduction')
      .option('--probe-size <n>', 'examples of the built-in Fashion-MNIST probe (default: the presets’ size)')
      .option('--quiet', 'no progress on stderr'),
  ).action(async (options: ReproduceOptions) => (await import('./reproduce-run.js')).reproduce(context, options));
}
