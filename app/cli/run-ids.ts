/**
 * Run ids as people type them: the whole id, or any prefix that only one run has (with or
 * without the `run-`), as git takes commits.
 */
import { WorkbenchError } from '../common/errors.js';
import type { Workbench } from '../api/workbench.js';

export async function resolveRunId(api: Workbench, given: string): Promise<string> {
  if (!/^[A-Za-z0-9_-]{1,80}$/.test(given)) {
    throw new WorkbenchError('BAD_INPUT', `'${given}' is not a run id (letters, digits, - and _)`);
  }
  const matches = await api.listRuns({ idPrefix: given, limit: 6 });
  const exact = matches.find((r) => r.id === given);
  if (exact) return exact.id;
  if (matches.length === 1) return matches[0]!.id;
  if (matches.length === 0) throw new WorkbenchError('NOT_FOUND', `no run has an id starting with '${given}'`);
  const shown = matches.slice(0, 5).map((r) => `${r.id} (${r.name})`);
  throw new WorkbenchError(
    'BAD_INPUT',
    `'${given}' starts the ids of ${matches.length > 5 ? 'more than 5' : matches.length} runs: ${shown.join(', ')}; give more of the id`,
  );
}
