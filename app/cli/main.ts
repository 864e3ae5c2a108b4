/**
 * The command-line shell: parses arguments (commander) and adapts the same WorkbenchApi the
 * desktop app and the server use. Errors print as one line and exit with code 1.
 *
 * Registering the commands imports nothing of the engine: the API is imported when a command's
 * action first asks for it, so `--version` and `--help` start in a few tens of milliseconds.
 */
import { Command, CommanderError } from 'commander';
import { APP_VERSION } from '../api/app-info.js';
import { parseMaxProbeExamples } from '../api/probe-limit.js';
import type { Workbench, WorkbenchOptions } from '../api/workbench.js';
import type { CliContext } from './context.js';
import { registerInspect } from './commands/inspect.js';
import { registerCompare } from './commands/compare.js';
import { registerExtract } from './commands/extract.js';
import { registerRun } from './commands/run.js';
import { registerRuns } from './commands/runs.js';
import { registerSanity } from './commands/sanity.js';
import { registerReproduce } from './commands/reproduce.js';
import { registerCache } from './commands/cache.js';
import { reportError } from './output.js';

export function buildProgram(context: CliContext): Command {
  const program = new Command('cka-workbench')
    .description('Compare layer representations of ONNX models with Centered Kernel Alignment')
    .version(APP_VERSION)
    .option(
      '--max-probe-examples <n>',
      'the most examples a probe set may have (default 1000000, or CKA_WORKBENCH_MAX_PROBE_EXAMPLES)',
    )
    .showHelpAfterError()
    .exitOverride();
  program.configureOutput({ writeErr: (text) => process.stderr.write(text) });
  registerInspect(program, context);
  registerCompare(program, context);
  registerExtract(program, context);
  registerRun(program, context);
  registerSanity(program, context);
  registerRuns(program, context);
  registerReproduce(program, context);
  registerCache(program, context);
  return program;
}

export async function runCli(argv: string[]): Promise<void> {
  let api: Promise<Workbench> | null = null;
  let program: Command | null = null;
  // Global options are parsed by the time a command's action asks for a workbench.
  const globalOptions = (): WorkbenchOptions => {
    const { maxProbeExamples } = program?.opts<{ maxProbeExamples?: string }>() ?? {};
    return maxProbeExamples === undefined
      ? {}
      : { maxProbeExamples: parseMaxProbeExamples(maxProbeExamples, '--max-probe-examples') };
  };
  // The command line's user names their own files: no file-access policy beyond the system's.
  const workbench = async (options: WorkbenchOptions = {}) =>
    (await import('../api/workbench.js')).createWorkbench({ trustCaller: true, ...globalOptions(), ...options });
  const context: CliContext = {
    api: () => (api ??= workbench()),
    newWorkbench: workbench,
    print: (text) => process.stdout.write(`${text}\n`),
  };
  try {
    program = buildProgram(context);
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version exit 0; usage errors were already printed by commander.
      process.exitCode = err.exitCode;
    } else {
      reportError(err);
    }
  } finally {
    await (await (api as Promise<Workbench> | null)?.catch(() => null))?.close();
  }
}

await runCli(process.argv.slice(2));
