/**
 * `cka-workbench runs list|show|export|tag|note|delete` over the history in the data directory:
 *
 *   runs list [--search TEXT] [--experiment ID] [--status S,…] [--limit N] [--json]
 *   runs show RUN [--json]                      status, reason, models, timings, seeds accuracy, tags, note
 *   runs export RUN --format json|csv|npy|svg [--matrix I | --pair I,J | --seeds-mean M | …]   (runs-export.ts)
 *   runs tag RUN TAG… [--remove]
 *   runs note RUN TEXT…                         ('' clears it)
 *   runs delete RUN
 *
 * RUN is a run id or a prefix of one that only one run has.
 */
import type { Command } from 'commander';
import type { RunStatus } from '../../common/contract.js';
import { WorkbenchError } from '../../common/errors.js';
import type { CliContext } from '../context.js';
import { integerOption } from '../options.js';
import { table } from '../output.js';
import { resolveRunId } from '../run-ids.js';
import { registerRunsExport } from './runs-export.js';
import { addDataDirOption, describeResult, withApi } from './run-support.js';

const STATUSES: RunStatus[] = ['queued', 'running', 'done', 'failed', 'cancelled', 'interrupted'];

export function registerRuns(program: Command, context: CliContext): void {
  const runs = program
    .command('runs')
    .description('the history of experiment runs: list, show, export, tag, note, delete');

  addDataDirOption(
    runs
      .command('list')
      .description('runs, newest first')
      .option(
        '--search <text>',
        'only runs whose name, models, measures, probe, tags or note match every word (tag:T, model:M, measure:M, name:N for one field)',
      )
      .option('--experiment <id>', 'runs of one experiment')
      .option('--status <list>', `only these statuses (comma separated: ${STATUSES.join(', ')})`)
      .option('--limit <n>', 'at most this many (default 200)')
      .option('--json', 'print JSON'),
  ).action(
    async (options: {
      search?: string;
      experiment?: string;
      status?: string;
      limit?: string;
      json?: boolean;
      dataDir?: string;
    }) => {
      const status = options.status?.split(',').map((s) => s.trim()) as RunStatus[] | undefined;
      const bad = status?.find((s) => !STATUSES.includes(s));
      if (bad) throw new WorkbenchError('BAD_INPUT', `unknown status '${bad}' (${STATUSES.join(', ')})`);
      const limit = integerOption(options.limit, '--limit', 1);
      await withApi(context, options.dataDir, async (api) => {
        const list = await api.listRuns({
          ...(options.experiment ? { experimentId: options.experiment } : {}),
          ...(status ? { status } : {}),
          ...(options.search ? { search: options.search } : {}),
          ...(limit !== undefined ? { limit } : {}),
        });
        if (options.json) return context.print(JSON.stringify(list, null, 2));
        if (list.length === 0) return context.print(options.search ? `no run matches '${options.search}'` : 'no runs');
        context.print(
          table(
            ['run', 'status', 'kind', 'name', 'created', 'tags', 'reason'],
            list.map((r) => [
              r.id,
              r.status,
              r.kind,
              r.name,
              r.createdAt.replace('T', ' ').slice(0, 19),
              r.tags.join(' '),
              r.error?.message ?? '',
            ]),
          ),
        );
      });
    },
  );

  addDataDirOption(
    runs
      .command('show')
      .description('one run: status, models, timings, result summary')
      .argument('<run>', 'run id (or a prefix only one run has)')
      .option('--json', 'print the run and its result as JSON'),
  ).action(async (given: string, options: { json?: boolean; dataDir?: string }) => {
    await withApi(context, options.dataDir, async (api) => {
      const details = await api.getRun({ runId: await resolveRunId(api, given) });
      if (options.json) return context.print(JSON.stringify(details, null, 1));
      const { run } = details;
      const lines = [
        `${run.id}  ${run.status}${run.error ? `: ${run.error.message}` : ''}`,
        `"${run.name}", experiment ${run.experimentId}, created ${run.createdAt}${run.finishedAt ? `, finished ${run.finishedAt}` : ''}`,
      ];
      if (run.tags.length > 0) lines.push(`tags: ${run.tags.join(' ')}`);
      if (run.note) lines.push(`note: ${run.note}`);
      if (details.progress)
        lines.push(`progress ${(details.progress.fraction * 100).toFixed(0)}%: ${details.progress.message}`);
      if (details.result) lines.push(describeResult(details.result, run.id));
      context.print(lines.join('\n'));
    });
  });

  registerRunsExport(runs, context);

  addDataDirOption(
    runs
      .command('tag')
      .description('add tags to a run (or remove them with --remove)')
      .argument('<run>', 'run id (or a prefix only one run has)')
      .argument('<tags...>', 'tags: 1–40 characters, no spaces or commas')
      .option('--remove', 'remove these tags instead'),
  ).action(async (given: string, tags: string[], options: { remove?: boolean; dataDir?: string }) => {
    await withApi(context, options.dataDir, async (api) => {
      const runId = await resolveRunId(api, given);
      const run = await api.tagRun(options.remove ? { runId, remove: tags } : { runId, add: tags });
      context.print(`${run.id}: ${run.tags.length > 0 ? `tags ${run.tags.join(' ')}` : 'no tags'}`);
    });
  });

  addDataDirOption(
    runs
      .command('note')
      .description("set a run's note ('' clears it)")
      .argument('<run>', 'run id (or a prefix only one run has)')
      .argument('<text...>', 'the note (words are joined by spaces)'),
  ).action(async (given: string, words: string[], options: { dataDir?: string }) => {
    await withApi(context, options.dataDir, async (api) => {
      const run = await api.setRunNote({ runId: await resolveRunId(api, given), note: words.join(' ').trim() });
      context.print(run.note ? `${run.id}: note set` : `${run.id}: note cleared`);
    });
  });

  addDataDirOption(
    runs
      .command('delete')
      .description('delete a run and its result')
      .argument('<run>', 'run id (or a prefix only one run has)'),
  ).action(async (given: string, options: { dataDir?: string }) => {
    await withApi(context, options.dataDir, async (api) => {
      const runId = await resolveRunId(api, given);
      await api.deleteRun({ runId });
      context.print(`deleted ${runId}`);
    });
  });
}
