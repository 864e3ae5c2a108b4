/** What every CLI command gets: the engine's API and where to print. */
import type { Workbench, WorkbenchOptions } from '../api/workbench.js';

export interface CliContext {
  /** The command line's workbench (created on first use, with the global options). */
  readonly api: Workbench;
  /** Another workbench with the global options plus `options` (another data directory, cache); close it. */
  newWorkbench(options: WorkbenchOptions): Workbench;
  print(text: string): void;
}
