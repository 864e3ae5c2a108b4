/**
 * A run's inputs as one key: everything its numbers depend on. Two runs with the same key give the
 * same result, so a run with the key of a finished run can take that run's result instead of
 * computing (repeat-api.ts) — as a build system skips a step whose inputs did not change.
 *
 * The key hashes, as canonical JSON:
 * - the spec without its name (a name does not change a number), models by their pinned sha256;
 * - the sha256 of every other file the run may read: the probes' data (an `images:` folder's
 *   images), tokenizers and their configs, image processor settings beside a model, the zoo's
 *   manifest and the built-in probe's images (otherInputs);
 * - the app and onnxruntime versions, where the zoo is, and the precision of the Grams.
 * Paths are absolute. Not in it: a model's ONNX external-data files (their locations are known
 * only once the model is decoded), so a run of a model with side files records no key
 * (run-experiment.ts) and is never repeated; its caches key by a sha256 that covers them
 * (onnx/model-digest.ts). KEY_FORMAT changes whenever what a key stands for does.
 * The pair cache (store/pair-results.ts) keys each pair by the model contents and the probe's hash
 * instead, which needs the probe code to compute.
 *
 * Light on purpose (no zod, no probe or CKA code): the CLI computes it before loading the engine.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ExperimentSpec } from '../../common/contract.js';
import { parseProbeSpec } from '../probe/spec.js';
import { listImages, preprocessorConfigFile } from '../probe/image-files.js';
import { tokenizerBeside, tokenizerConfigFile, tokenizerFile } from '../probe/tokenizer-files.js';
import { readZooManifest } from '../probe/zoo-manifest.js';
import { specPaths } from './spec-paths.js';

/**
 * 2: runs of models with side files record no key. Keys from before were recorded for them too,
 * and a repeat would take their result after the weights changed; no key of format 1 matches now.
 */
const KEY_FORMAT = 2;

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

/** sha256 of an `images:` folder: the images the probe reads (image-files.ts), by name, in its order. */
async function imagesSha256(dir: string, sha256: RunInputContext['sha256']): Promise<string> {
  const hash = createHash('sha256');
  for (const name of (await listImages(dir, `images:${dir}`)).files)
    hash.update(`${name}\0${await sha256(join(dir, name))}\n`);
  return hash.digest('hex');
}

/**
 * Every file besides the models whose bytes the run may read, absolute: the probes' data, each
 * tokenizer.json (named, or beside a model) with the tokenizer_config.json beside it, the image
 * processor's settings beside a model, the zoo's manifest (the built-in probe's normalisation,
 * and the zoo models' under an `images:` probe) and the built-in probe's images. Side files that
 * do not exist are left out — a file appearing changes the key as much as one changing.
 */
async function otherInputs(spec: ExperimentSpec, modelsDir: string): Promise<{ path: string; images: boolean }[]> {
  const paths = specPaths(spec);
  const inputs = paths.probes.map((p) => ({ path: resolve(p.path), images: p.kind === 'dir' }));
  const tokenizers = [
    ...paths.tokenizers.map(tokenizerFile),
    ...spec.models.flatMap((m) => tokenizerBeside(m.path) ?? []),
  ];
  const sideFiles = [
    ...tokenizers,
    ...tokenizers.map(tokenizerConfigFile),
    ...spec.models.map((m) => preprocessorConfigFile(resolve(m.path))),
    join(modelsDir, 'zoo.json'),
  ];
  for (const path of sideFiles) if (existsSync(path)) inputs.push({ path: resolve(path), images: false });
  const probes = [spec.probe, ...spec.models.flatMap((m) => (m.probe ? [m.probe] : []))];
  if (probes.some((p) => parseProbeSpec(p).kind === 'fashion-mnist')) {
    inputs.push({ path: (await readZooManifest(modelsDir)).images, images: false });
  }
  return inputs;
}

/**
 * The key of a run of `spec`, whose models carry the sha256 of their files (the caller checked
 * them); null when a model is not pinned or an input cannot be read (the run itself then says why).
 */
export async function runInputKey(spec: ExperimentSpec, context: RunInputContext): Promise<string | null> {
  if (spec.models.some((m) => !m.sha256)) return null;
  // Paths as the run resolves them: the same spec from another folder is another run.
  const { name: _name, ...numbersOf } = { ...spec, models: spec.models.map((m) => ({ ...m, path: resolve(m.path) })) };
  try {
    const files: [string, string][] = [];
    for (const input of await otherInputs(spec, context.modelsDir)) {
      const digest = input.images ? imagesSha256(input.path, context.sha256) : context.sha256(input.path);
      files.push([input.path, await digest]);
    }
    const { version, onnxruntime } = context.app;
    const app = { version, onnxruntime, modelsDir: resolve(context.modelsDir) };
    const key = { format: KEY_FORMAT, spec: numbersOf, files, app, precision: context.precision };
    return createHash('sha256').update(canonicalJson(key)).digest('hex');
  } catch {
    return null;
  }
}
