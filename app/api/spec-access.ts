/** Whether a spec may be run by this caller: every file it names, checked against the file-access policy. */
import type { ExperimentSpec } from '../common/contract.js';
import { specPaths } from '../engine/experiments/spec-paths.js';
import { tokenizerFile } from '../engine/probe/tokenizer-files.js';
import type { FileAccessPolicy } from './file-access.js';

/**
 * Throws FORBIDDEN unless every model, the probes' data and the tokenizers named are allowed;
 * returns the models' real paths. Light (no zod, no engine): `repeatRun` checks with it too.
 */
export async function checkSpecPaths(policy: FileAccessPolicy, spec: ExperimentSpec): Promise<string[]> {
  const paths = specPaths(spec);
  const models = await Promise.all(paths.models.map((p) => policy.check(p, 'model')));
  for (const probe of paths.probes)
    await policy.check(probe.path, probe.kind === 'dir' ? 'probe folder' : 'probe file');
  for (const tokenizer of paths.tokenizers) await policy.check(tokenizerFile(tokenizer), 'tokenizer');
  return models;
}
