/**
 * A process-wide ModelRunner for callers that do not manage one (e.g. `inspectModelFile(path)` in
 * scripts and tests). Started on first use; its idle process does not keep Node alive. The app's
 * Workbench creates its own runner instead (with the shell's launcher) and closes it on exit.
 * One onnxruntime thread: it serves quick jobs (reading types and shapes), not extraction.
 */
import { ModelRunner } from './model-runner.js';

let shared: ModelRunner | null = null;

export function defaultModelRunner(): ModelRunner {
  shared ??= new ModelRunner({ intraOpThreads: 1 });
  return shared;
}

export async function closeDefaultModelRunner(): Promise<void> {
  const runner = shared;
  shared = null;
  await runner?.close();
}
