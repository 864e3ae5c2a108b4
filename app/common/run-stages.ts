/**
 * The stages of a run as people read them — the same words in the progress chips, the engine's
 * messages and the reasons a run stopped (a stage is "Grams" on screen, never "kernels") — and
 * the reason a run that stopped early gives, with what it kept.
 */
import type { RunStage } from './contract.js';

/** The chips of the progress box. */
export const STAGE_LABELS: Record<RunStage, string> = {
  prepare: 'Prepare',
  extract: 'Activations',
  kernels: 'Grams & SVDs',
  similarity: 'Similarity',
  bootstrap: 'Bootstrap',
  save: 'Save',
};

/** What the run was doing in a stage: "cancelled while computing Grams". */
export const STAGE_ACTIVITIES: Record<RunStage, string> = {
  prepare: 'preparing',
  extract: 'extracting activations',
  kernels: 'computing Grams',
  similarity: 'computing similarities',
  bootstrap: 'bootstrapping intervals',
  save: 'saving',
};

/** What a stopped run kept: "the 3 finished pairs of models were kept", "no pair of models was finished". */
export function keptPairs(count: number): string {
  if (count === 0) return 'no pair of models was finished';
  return count === 1 ? 'the 1 finished pair of models was kept' : `the ${count} finished pairs of models were kept`;
}

/** "cancelled while computing Grams; the 3 finished pairs of models were kept". */
export function stoppedReason(what: string, stage: RunStage | null, pairs: number): string {
  const when = stage === null ? 'before it started' : `while ${STAGE_ACTIVITIES[stage]}`;
  return `${what} ${when}; ${keptPairs(pairs)}`;
}
