/**
 * A run's inputs as one key: everything its numbers depend on. Two runs with the same key give the
 * same result, so a run with the key of a finished run can take that run's result instead of
 * computing (repeat-api.ts) — as a build system skips a step whose inputs did not change.
 *
 * The key hashes, as canonical JSON:
 * - the spec without its name (a name does not change a number), models by their pinned sha256;
 * - the sha256 of every other file the run reads: the probes' data (a folder's every file, by its
 *   relative path), tokenizers named or lying beside a model (text probes read those), and the
 *   built-in probe's manifest and images;
 * - the app and onnxruntime versions, and the precision of the Grams.
 * The pair cache (store/pair-results.ts) keys each pair by the same facts, less the files it
 * reads through the probe's hash.
 *
 * Light on purpose (no zod, no probe or CKA code): the CLI computes it before loading the engine.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join, relative } from 'node:path';
import type { ExperimentSpec } from '../../common/contract.js';
import { parseProbeSpec } from '../probe/spec.js';
import { tokenizerBeside, tokenizerFile } from '../probe/tokenizer-files.js';
import { readZooManifest } from '../probe/zoo-manifest.js';
import { specPaths } from './spec-paths.js';

/** The precision of Grams a run stores when the CKA core is left to choose ('auto'; run-context.ts). */
export const AUTO_GRAM_PRECISION = 'float32';

export interface RunInputContext {
  /** Where the built-in probe lives. */
  modelsDir: string;
  app: { version: string; onnxruntime: string };
  /** The precision of the run's Grams (run-context.ts `precision`). */
  precision: string;
  /** A file's sha256 (store/file-digests.ts remembers them). */
  sha256(path: string): Promise<string>;
}

/** JSON with every object's keys sorted, so equal values give equal text. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

/** sha256 of a folder: every regular file under it (links followed), by relative path, in sorted order. */
async function folderSha256(dir: string, sha256: RunInputContext['sha256']): Promise<string> {
  const files: string[] = [];
  const walk = async (at: string): Promise<void> => {
    const names = (await fs.readdir(at)).sort();
    for (const name of names) {
      const path = join(at, name);
      const stat = await fs.stat(path);
      if (stat.isDirectory()) await walk(path);
      else if (stat.isFile()) files.push(path);
    }
  };
  await walk(dir);
  const hash = createHash('sha256');
  for (const file of files) hash.update(`${relative(dir, file)}\0${await sha256(file)}\n`);
  return hash.digest('hex');
}

/** The files and folders besides the models whose bytes the run reads. */
async function otherInputs(spec: ExperimentSpec, modelsDir: string): Promise<{ path: string; dir: boolean }[]> {
  const paths = specPaths(spec);
  const inputs = paths.probes.map((p) => ({ path: p.path, dir: p.kind === 'dir' }));
  for (const tokenizer of paths.tokenizers) inputs.push({ path: tokenizerFile(tokenizer), dir: false });
  for (const model of spec.models) {
    const beside = tokenizerBeside(model.path);
    if (beside) inputs.push({ path: beside, dir: false });
  }
  const probes = [spec.probe, ...spec.models.flatMap((m) => (m.probe ? [m.probe] : []))];
  if (probes.some((p) => parseProbeSpec(p).kind === 'fashion-mnist')) {
    inputs.push({ path: join(modelsDir, 'zoo.json'), dir: false });
    inputs.push({ path: (await readZooManifest(modelsDir)).images, dir: false });
  }
  return inputs;
}

/**
 * The key of a run of `spec`, whose models carry the sha256 of their files (the caller checked
 * them); null when a model is not pinned or an input cannot be read (the run itself then says why).
 */
export async function runInputKey(spec: ExperimentSpec, context: RunInputContext): Promise<string | null> {
  if (spec.models.some((m) => !m.sha256)) return null;
  const { name: _name, ...numbersOf } = spec;
  try {
    const files: [string, string][] = [];
    for (const input of await otherInputs(spec, context.modelsDir)) {
      const digest = input.dir ? folderSha256(input.path, context.sha256) : context.sha256(input.path);
      files.push([input.path, await digest]);
    }
    const { version, onnxruntime } = context.app;
    const key = { spec: numbersOf, files, app: { version, onnxruntime }, precision: context.precision };
    return createHash('sha256').update(canonicalJson(key)).digest('hex');
  } catch {
    return null;
  }
}
