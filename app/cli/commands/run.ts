/**
 * `cka-workbench run SPEC.json [--json OUT] [--data-dir DIR]`: runs an experiment of any kind
 * from a spec file (the API's ExperimentSpec, validated by the same schema). Relative model and
 * probe paths are taken relative to the spec file. The run is kept in the history (`runs`);
 * `--json` writes the result (also a partial one, when the run stopped early).
 */
import { dirname, isAbsolute, resolve } from 'node:path';
import type { Command } from 'commander';
import type { ExperimentSpec } from '../../common/contract.js';
import { WorkbenchError } from '../../common/errors.js';
import type { CliContext } from '../context.js';
import { nodeFiles, specs } from '../lazy.js';
import { addDataDirOption, checkRunDone, describeResult, runSpecToEnd, withApi } from './run-support.js';

/** `npy:x.npy` → `npy:/spec/dir/x.npy` (also npz: and images:); other specs unchanged. */
export function absoluteProbeSpec(probe: string, baseDir: string): string {
  const match = /^(npy|npz|images):(.*)$/s.exec(probe);
  if (!match) return probe;
  const [, kind, rest] = match;
  return isAbsolute(rest!) ? probe : `${kind}:${resolve(baseDir, rest!)}`;
}

export async function readSpecFile(file: string): Promise<ExperimentSpec> {
  const { FILE_SIZE_LIMITS, readRegularText } = await nodeFiles();
  let text: string;
  try {
    text = await readRegularText(file, { what: 'spec file', maxBytes: FILE_SIZE_LIMITS.json });
  } catch (err) {
    if (err instanceof WorkbenchError && err.code !== 'NOT_FOUND') throw err;
    throw new WorkbenchError('NOT_FOUND', `${file}: cannot read the spec file`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch (err) {
    throw new WorkbenchError('BAD_INPUT', `${file}: not valid JSON (${(err as Error).message})`);
  }
  const spec = (await specs()).parseExperimentSpec(value, file);
  const base = dirname(resolve(file));
  return {
    ...spec,
    models: spec.models.map((m) => ({ ...m, path: resolve(base, m.path) })),
    probe: absoluteProbeSpec(spec.probe, base),
  };
}

export function registerRun(program: Command, context: CliContext): void {
  addDataDirOption(
    program
      .command('run')
      .description('run an experiment (pair, self, seeds or family) from a spec file and keep it in the history')
      .argument('<spec>', 'an experiment spec (JSON): name, kind, models, probe, layers, measures, options')
      .option('--json <out>', 'write the result to this file')
      .option('--quiet', 'no progress on stderr'),
  ).action(async (file: string, options: { json?: string; dataDir?: string; quiet?: boolean }) => {
    const spec = await readSpecFile(file);
    await withApi(context, options.dataDir, async (api) => {
      const details = await runSpecToEnd(api, spec, { quiet: options.quiet ?? false });
      if (details.result) {
        if (options.json !== undefined) {
          const { writeFileAtomic } = await nodeFiles();
          await writeFileAtomic(options.json, `${JSON.stringify(details.result, null, 1)}\n`);
        }
        context.print(describeResult(details.result, details.run.id));
      }
      checkRunDone(details);
    });
  });
}
