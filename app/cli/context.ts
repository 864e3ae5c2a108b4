/**
 * What every CLI command gets: the engine's API and where to print. The API is loaded on first
 * use, so `--help`, `--version` and argument errors never load the engine.
 */
import type { Workbench, WorkbenchOptions } from '../api/workbench.js';

export interface CliContext {
  /** The command line's workbench (created on first use, with the global options). */
  api(): Promise<Workbench>;
  /** Another workbench with the global options plus `options` (another data directory, cache); close it. */
  newWorkbench(options: WorkbenchOptions): Promise<Workbench>;
  print(text: string): void;
}
