/**
 * The command-line shell: parses arguments (commander) and adapts the same WorkbenchApi the
 * desktop app and the server use. Errors print as one line and exit with code 1.
 */
import { Command, CommanderError } from 'commander';
import { APP_VERSION } from '../api/app-info.js';
import { createWorkbench } from '../api/workbench.js';
import type { CliContext } from './context.js';
import { registerInspect } from './commands/inspect.js';
import { registerCompare } from './commands/compare.js';
import { registerExtract } from './commands/extract.js';
import { registerRun } from './commands/run.js';
import { registerRuns } from './commands/runs.js';
import { registerSanity } from './commands/sanity.js';
import { registerReproduce } from './commands/reproduce.js';
import { reportError } from './output.js';

export function buildProgram(context: CliContext): Command {
  const program = new Command('cka-workbench')
    .description('Compare layer representations of ONNX models with Centered Kernel Alignment')
    .version(APP_VERSION)
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
  return program;
}

export async function runCli(argv: string[]): Promise<void> {
  // The command line's user names their own files: no file-access policy beyond the system's.
  const api = createWorkbench({ trustCaller: true });
  const context: CliContext = { api, print: (text) => process.stdout.write(`${text}\n`) };
  try {
    await buildProgram(context).parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version exit 0; usage errors were already printed by commander.
      process.exitCode = err.exitCode;
    } else {
      reportError(err);
    }
  } finally {
    await api.close();
  }
}

await runCli(process.argv.slice(2));
