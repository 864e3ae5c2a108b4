/**
 * Keeping the history list current from two sources that race: the engine's run events and
 * fetches (listRuns, getRun) whose answers may be older than the last event.
 */
import type { RunInfo } from '@common/contract.js';
import { isActive } from './run-format.js';

/**
 * The list with `run` put in (new runs first). A report of a run as queued or running after it
 * has ended is stale — a run never starts again; "Run again" makes a new one — so it is ignored
 * (the list is returned unchanged).
 */
export function withRun(list: RunInfo[], run: RunInfo): RunInfo[] {
  const index = list.findIndex((r) => r.id === run.id);
  if (index < 0) return [run, ...list];
  if (!isActive(list[index]!.status) && isActive(run.status)) return list;
  return list.map((r, i) => (i === index ? run : r));
}

/**
 * A fetched history merged with the runs reported while the fetch was under way (those are at
 * least as new as the fetch): fetched order, the reported state of each, and reported runs the
 * fetch did not know yet first.
 */
export function withFetched(fetched: RunInfo[], reportedMeanwhile: ReadonlyMap<string, RunInfo>): RunInfo[] {
  const known = new Set(fetched.map((r) => r.id));
  const added = [...reportedMeanwhile.values()].filter((r) => !known.has(r.id));
  let list = [...added, ...fetched];
  for (const run of reportedMeanwhile.values()) list = withRun(list, run);
  return list;
}
