/**
 * Probe sets for the library: the built-in ones, and opening a spec to check it and learn its size,
 * example shape and hash — against a model's input when one is given, otherwise against an input
 * that accepts any size (of the rank the data has).
 */
import { basename, resolve } from 'node:path';
import type { Dim, ProbeInfo, ProbeSetEntry } from '../../common/contract.js';
import { WorkbenchError } from '../../common/errors.js';
import { parseNpyHeader, readNpyHeader } from '../io/npy.js';
import { openProbeFile } from '../probe/array-probe.js';
import { readZooManifest } from '../probe/zoo-manifest.js';
import type { ModelInput } from '../probe/model-input.js';
import { listNpzMembers, memberBytes } from '../probe/npz-archive.js';
import { openFeeds, type FeedContext } from '../probe/open-feeds.js';
import { parseProbeSpec, type ProbeSpec } from '../probe/spec.js';

export async function builtInProbes(modelsDir: string): Promise<ProbeSetEntry[]> {
  const entries: ProbeSetEntry[] = [];
  try {
    const zoo = await readZooManifest(modelsDir);
    const n = Math.min(1000, zoo.n || 1000);
    entries.push({
      spec: `fashion-mnist:${n}`,
      kind: 'fashion-mnist',
      label: 'Fashion-MNIST test images',
      description: `The first N of ${zoo.n} Fashion-MNIST test images (28×28 gray), normalised as the zoo models were trained.`,
      builtIn: true,
      maxN: zoo.n,
    });
  } catch {
    // Not installed (a build without the zoo): not offered.
  }
  entries.push({
    spec: 'random:1000',
    kind: 'random',
    label: 'Gaussian noise',
    description: "N examples of standard normal noise in the model input's shape (random:N:SEED, seed 0 by default).",
    builtIn: true,
  });
  return entries;
}

/** How many axes the array of an npy/npz probe has, read from its header only. */
async function arrayRank(probe: Extract<ProbeSpec, { kind: 'npy' | 'npz' }>): Promise<number> {
  const path = resolve(probe.path);
  if (probe.kind === 'npy') {
    // Opening it as a probe file first: missing files and FIFOs get the probe's own errors.
    await (await openProbeFile(path, `npy:${probe.path}`)).close();
    try {
      return (await readNpyHeader(path)).shape.length;
    } catch (err) {
      if (err instanceof WorkbenchError && err.code !== 'INTERNAL' && err.code !== 'BAD_INPUT') throw err;
      throw new WorkbenchError('BAD_PROBE', `npy:${probe.path}: ${(err as Error).message}`);
    }
  }
  const file = await openProbeFile(path, `npz:${probe.path}`);
  const { handle, size } = file;
  try {
    const members = await listNpzMembers(handle, size, path);
    const member = (probe.key ? members.find((m) => m.key === probe.key) : members[0]) ?? members[0];
    if (!member) throw new WorkbenchError('BAD_PROBE', `${path}: the archive holds no arrays`);
    const bytes = await memberBytes(handle, member, path);
    return parseNpyHeader(await bytes.read(0, Math.min(bytes.size, 65_536 + 12)), path).shape.length;
  } finally {
    await file.close();
  }
}

/** An input that takes any example size: what a probe is checked against when no model is given. */
export async function inputWithoutModel(probe: ProbeSpec): Promise<ModelInput> {
  const free = (rank: number): ModelInput => ({
    name: 'input',
    shape: new Array<Dim>(Math.max(1, rank)).fill(null),
    dtype: 'float32',
  });
  switch (probe.kind) {
    case 'fashion-mnist':
      return { name: 'input', shape: [null, 1, 28, 28], dtype: 'float32' };
    case 'images':
      return free(4);
    case 'npy':
    case 'npz':
      return free(await arrayRank(probe));
    case 'random':
      throw new WorkbenchError(
        'BAD_PROBE',
        `random:${probe.n} takes its example shape from a model: open it together with one`,
      );
    case 'text':
      throw new WorkbenchError('BAD_PROBE', `text:${probe.path} is tokenized for a model: open it together with one`);
  }
}

/** A probe opened for a model's inputs (or, without a model, for an input that takes any size). */
export async function openProbeInfo(
  spec: string,
  inputs: ModelInput[] | null,
  context: FeedContext & { modelsDir: string },
): Promise<ProbeInfo> {
  const parsed = parseProbeSpec(spec);
  const source = await openFeeds(parsed, inputs ?? [await inputWithoutModel(parsed)], context);
  try {
    const info: ProbeInfo = {
      spec: source.spec,
      kind: source.kind,
      n: source.n,
      exampleShape: source.inputs[0]!.exampleShape.map((d) => d ?? source.sequence?.maxLength ?? 0),
      hash: source.hash,
      notes: source.notes,
    };
    if (source.inputs.length > 1 || source.sequence) {
      info.inputs = source.inputs.map((i) => ({ name: i.name, dtype: i.dtype, shape: i.exampleShape }));
    }
    if (source.tokenizer) info.tokenizer = source.tokenizer;
    return info;
  } finally {
    await source.close();
  }
}

export function probeLabel(info: Pick<ProbeInfo, 'spec' | 'kind'>, path: string | null): string {
  return path ? `${basename(path)} (${info.kind})` : info.spec;
}
