/**
 * `cka-workbench runs list|show|export|delete` over the history in the data directory:
 *
 *   runs list [--experiment ID] [--status S,…] [--json]
 *   runs show RUN [--json]                      status, reason, models, timings, seeds accuracy
 *   runs export RUN --format json|csv|npy|svg [--matrix I | --seeds-mean M | --seeds-std M] [--out FILE]
 *   runs delete RUN
 */
import type { Command } from 'commander';
import type { ExportRequest, RunStatus } from '../../common/contract.js';
import { WorkbenchError } from '../../common/errors.js';
import { writeFileAtomic } from '../../api/node-files.js';
import type { CliContext } from '../context.js';
import { integerOption } from '../options.js';
import { table } from '../output.js';
import { addDataDirOption, describeResult, withApi } from './run-support.js';

const STATUSES: RunStatus[] = ['queued', 'running', 'done', 'failed', 'cancelled', 'interrupted'];

export function registerRuns(program: Command, context: CliContext): void {
  const runs = program.command('runs').description('the history of experiment runs: list, show, export, delete');

  addDataDirOption(
    runs
      .command('list')
      .description('runs, newest first')
      .option('--experiment <id>', 'runs of one experiment')
      .option('--status <list>', `only these statuses (comma separated: ${STATUSES.join(', ')})`)
      .option('--json', 'print JSON'),
  ).action(async (options: { experiment?: string; status?: string; json?: boolean; dataDir?: string }) => {
    const status = options.status?.split(',').map((s) => s.trim()) as RunStatus[] | undefined;
    const bad = status?.find((s) => !STATUSES.includes(s));
    if (bad) throw new WorkbenchError('BAD_INPUT', `unknown status '${bad}' (${STATUSES.join(', ')})`);
    await withApi(context, options.dataDir, async (api) => {
      const list = await api.listRuns({
        ...(options.experiment ? { experimentId: options.experiment } : {}),
        ...(status ? { status } : {}),
      });
      if (options.json) return context.print(JSON.stringify(list, null, 2));
      if (list.length === 0) return context.print('no runs');
      context.print(
        table(
          ['run', 'status', 'kind', 'name', 'created', 'note'],
          list.map((r) => [
            r.id,
            r.status,
            r.kind,
            r.name,
            r.createdAt.replace('T', ' ').slice(0, 19),
            r.error?.message ?? '',
          ]),
        ),
      );
    });
  });

  addDataDirOption(
    runs
      .command('show')
      .description('one run: status, models, timings, result summary')
      .argument('<run>', 'run id')
      .option('--json', 'print the run and its result as JSON'),
  ).action(async (runId: string, options: { json?: boolean; dataDir?: string }) => {
    await withApi(context, options.dataDir, async (api) => {
      const details = await api.getRun({ runId });
      if (options.json) return context.print(JSON.stringify(details, null, 1));
      const { run } = details;
      const lines = [
        `${run.id}  ${run.status}${run.error ? `: ${run.error.message}` : ''}`,
        `experiment ${run.experimentId}, created ${run.createdAt}${run.finishedAt ? `, finished ${run.finishedAt}` : ''}`,
      ];
      if (details.progress)
        lines.push(`progress ${(details.progress.fraction * 100).toFixed(0)}%: ${details.progress.message}`);
      if (details.result) lines.push(describeResult(details.result, run.id));
      context.print(lines.join('\n'));
    });
  });

  addDataDirOption(
    runs
      .command('export')
      .description("a run's result as a file: json (all of it) or one matrix as csv, npy (float64) or svg")
      .argument('<run>', 'run id')
      .requiredOption('--format <f>', 'json, csv, npy or svg')
      .option('--matrix <i>', 'which matrix (csv/npy/svg; see runs show --json)', undefined)
      .option('--seeds-mean <m>', "seeds runs: the mean over pairs of measure M's summary")
      .option('--seeds-std <m>', "seeds runs: the standard deviation over pairs of measure M's summary")
      .option('--out <file>', 'where to write it (default: a name from the result, in the current folder)'),
  ).action(
    async (
      runId: string,
      options: {
        format: string;
        matrix?: string;
        seedsMean?: string;
        seedsStd?: string;
        out?: string;
        dataDir?: string;
      },
    ) => {
      if (!['json', 'csv', 'npy', 'svg'].includes(options.format)) {
        throw new WorkbenchError('BAD_INPUT', `--format must be json, csv, npy or svg, got '${options.format}'`);
      }
      const request: ExportRequest = { runId, format: options.format as ExportRequest['format'] };
      const matrix = integerOption(options.matrix, '--matrix', 0);
      if (matrix !== undefined) request.matrix = matrix;
      const mean = integerOption(options.seedsMean, '--seeds-mean', 0);
      const std = integerOption(options.seedsStd, '--seeds-std', 0);
      if (mean !== undefined) request.seeds = { measure: mean, statistic: 'mean' };
      if (std !== undefined) request.seeds = { measure: std, statistic: 'std' };
      await withApi(context, options.dataDir, async (api) => {
        const file = await api.exportRun(request);
        const out = options.out ?? file.fileName;
        await writeFileAtomic(out, Buffer.from(file.data, file.encoding === 'base64' ? 'base64' : 'utf8'));
        context.print(`wrote ${out} (${file.bytes} bytes)`);
      });
    },
  );

  addDataDirOption(
    runs.command('delete').description('delete a run and its result').argument('<run>', 'run id'),
  ).action(async (runId: string, options: { dataDir?: string }) => {
    await withApi(context, options.dataDir, async (api) => {
      await api.deleteRun({ runId });
      context.print(`deleted ${runId}`);
    });
  });
}
