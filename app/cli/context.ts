/** What every CLI command gets: the engine's API and where to print. */
import type { Workbench } from '../api/workbench.js';

export interface CliContext {
  api: Workbench;
  print(text: string): void;
}
