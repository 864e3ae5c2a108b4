/**
 * The first stage of a run: what each model of the spec is, before any heavy work. For each model
 * the activation engine prepares an extraction (reads and hashes the file, resolves the layer
 * selection, opens the model's probe — its own view of the examples, or the experiment's —
 * calibrates under its reductions) and closes it again — a session holds one of the runner's
 * processes, so sessions are not kept open across this stage; the calibration is kept instead, so
 * the extraction opens the model without calibrating again. The layout it finds is kept by the
 * file's sha256, selection and reductions (and, for token probes, the probe's hash), so later runs
 * of the same file only hash it and open the probe (which re-hashes the probe data: a changed probe
 * is never mistaken for the old one). Checked here, so a run fails in seconds rather than after an
 * hour: the file's sha256 against the spec, one number of rows for every layer of every model (the
 * same examples, or the same tokens), and for seeds that the models' layers correspond.
 */
import { basename, resolve } from 'node:path';
import type { ExperimentSpec, OmittedLayer } from '../../common/contract.js';
import { WorkbenchError } from '../../common/errors.js';
import { reduceSpecKey } from '../../common/reductions.js';
import type { ActivationEngine } from '../activations/engine.js';
import type { Calibration, PlannedLayer } from '../activations/prepare.js';
import { checkSideFiles } from '../onnx/external-data.js';
import { modelDigest, sideFileDigests } from '../onnx/model-digest.js';
import { openFeeds } from '../probe/open-feeds.js';
import type { LayoutStore, ModelLayout } from '../store/layouts.js';
import { checkRows } from './layer-rows.js';
import { layerSelectionOf, probeOf, reduceOf } from './spec.js';

export interface PreparedModel {
  /** Position in spec.models. */
  index: number;
  path: string;
  label: string;
  /** The model's sha256, over its side files too when it has some (onnx/model-digest.ts): caches key by it. */
  sha256: string;
  /** The sha256 of the model file alone. */
  fileSha256: string;
  selection: string;
  layers: PlannedLayer[];
  /** Selected layers that cannot be compared, and why. */
  omitted: OmittedLayer[];
  /** Tensors that are graph outputs (the logits), by name. */
  outputs: Set<string>;
  probe: { spec: string; hash: string; n: number };
  /** The spec the model's probe was opened from (its own, or the experiment's). */
  probeSpec: string;
  /** What the engine's prepare found (none for a cached layout): the extraction opens again without calibrating. */
  calibration?: Calibration;
}

export interface PrepareOptions {
  signal?: AbortSignal;
  onModel?: (done: number, total: number, label: string) => void;
  /**
   * Cached layouts: with one, a model needs no onnxruntime session (only its hash and the probe),
   * found by the file's sha256 (a run passes the digests its store remembers by file identity).
   */
  layouts?: { store: LayoutStore; sha256(path: string): Promise<string> };
  /** Where the built-in probe lives. */
  modelsDir?: string;
  /** The most examples a probe may have. */
  maxProbeExamples?: number;
}

interface ModelJob {
  index: number;
  path: string;
  label: string;
  selection: string;
  probe: string;
  tokenizer?: string;
  maskInput?: string;
  layoutKey: string;
}

/** The layout cached for the job, when it is still true for the probe opened now. */
async function fromLayout(
  job: ModelJob,
  fileSha256: string,
  cached: ModelLayout,
  options: PrepareOptions & { layouts: NonNullable<PrepareOptions['layouts']> },
): Promise<PreparedModel | null> {
  if (!cached.inputs || !cached.layers.every((l) => typeof l.key === 'string') || !cached.sideFiles) {
    return null; // an older layout
  }
  // The weights in side files are part of the model: its sha256 covers their contents now.
  const sides = await sideFileDigests(await checkSideFiles(cached.sideFiles, job.path), options.layouts.sha256);
  const sha256 = modelDigest(fileSha256, sides);
  const feeds = await openFeeds(job.probe, cached.inputs, {
    modelPath: job.path,
    ...(options.modelsDir ? { modelsDir: options.modelsDir } : {}),
    ...(job.tokenizer !== undefined ? { tokenizer: job.tokenizer } : {}),
    ...(job.maskInput !== undefined ? { maskInput: job.maskInput } : {}),
    ...(options.maxProbeExamples !== undefined ? { maxExamples: options.maxProbeExamples } : {}),
  });
  try {
    if (cached.sequenceProbe !== null && cached.sequenceProbe !== feeds.hash) return null;
    if (cached.sequenceProbe === null && feeds.sequence !== null) return null;
    return {
      index: job.index,
      path: job.path,
      label: job.label,
      sha256,
      fileSha256,
      selection: job.selection,
      layers: cached.layers.map(({ rowsPerExample, ...l }) => ({
        ...l,
        rows: rowsPerExample === 'valid' ? l.rows : feeds.n * rowsPerExample,
      })),
      omitted: cached.omitted,
      outputs: new Set(cached.outputs),
      probe: { spec: feeds.spec, hash: feeds.hash, n: feeds.n },
      probeSpec: job.probe,
    };
  } finally {
    await feeds.close();
  }
}

/** Layout and probe of one model: from the layout cache when it holds one for the file, else from the engine. */
async function prepareOne(
  engine: ActivationEngine,
  spec: ExperimentSpec,
  job: ModelJob,
  options: PrepareOptions,
): Promise<PreparedModel> {
  // A file that cannot be read falls through to the engine, whose error names the problem.
  const { layouts } = options;
  const fileSha256 = layouts ? await layouts.sha256(job.path).catch(() => null) : null;
  const cached = layouts && fileSha256 ? layouts.store.get(fileSha256, job.layoutKey) : null;
  if (layouts && fileSha256 && cached) {
    const found = await fromLayout(job, fileSha256, cached, { ...options, layouts });
    if (found) return found;
  }
  const prepared = await engine.prepare(
    {
      model: job.path,
      probe: job.probe,
      layers: job.selection,
      reduce: reduceOf(spec, job.index),
      ...(job.tokenizer !== undefined ? { tokenizer: job.tokenizer } : {}),
      ...(job.maskInput !== undefined ? { maskInput: job.maskInput } : {}),
    },
    { signal: options.signal },
  );
  try {
    const outputs = prepared.graphOutputs;
    layouts?.store.put(prepared.file.sha256, job.layoutKey, {
      layers: prepared.calibration.extracted.map((l, i) => ({
        ...prepared.layers[i]!,
        rowsPerExample: l.rowsPerExample,
      })),
      outputs,
      inputs: prepared.inputs,
      omitted: prepared.omitted,
      sequenceProbe: prepared.probe.sequence ? prepared.probe.hash : null,
      sideFiles: prepared.file.sideFiles,
    });
    return {
      index: job.index,
      path: prepared.model.path,
      label: job.label,
      sha256: prepared.model.sha256,
      fileSha256: prepared.file.sha256,
      selection: job.selection,
      layers: prepared.layers,
      omitted: prepared.omitted,
      outputs: new Set(outputs),
      probe: { spec: prepared.probe.spec, hash: prepared.probe.hash, n: prepared.probe.n },
      probeSpec: job.probe,
      calibration: prepared.calibration,
    };
  } finally {
    await prepared.close();
  }
}

export async function prepareModels(
  engine: ActivationEngine,
  spec: ExperimentSpec,
  options: PrepareOptions = {},
): Promise<PreparedModel[]> {
  const prepared: PreparedModel[] = [];
  // The same file with the same selection, probe and reductions is prepared once.
  const seen = new Map<string, PreparedModel>();
  for (const [index, ref] of spec.models.entries()) {
    if (options.signal?.aborted) throw new WorkbenchError('CANCELLED', 'cancelled');
    const selection = layerSelectionOf(spec, index);
    const label = ref.label ?? basename(ref.path);
    const probe = probeOf(spec, index);
    const layoutKey = [selection, reduceSpecKey(reduceOf(spec, index)), ref.maskInput ?? ''].join('\0');
    const job: ModelJob = {
      index,
      path: resolve(ref.path),
      label,
      selection,
      probe,
      layoutKey,
      ...(ref.tokenizer !== undefined ? { tokenizer: ref.tokenizer } : {}),
      ...(ref.maskInput !== undefined ? { maskInput: ref.maskInput } : {}),
    };
    const key = [job.path, layoutKey, probe, ref.tokenizer ?? ''].join('\0');
    let model = seen.get(key);
    if (!model) {
      model = await prepareOne(engine, spec, job, options);
      seen.set(key, model);
    }
    // A pin is the file's sha256 (as the API pins models), or the model's over its side files too.
    const pin = ref.sha256?.toLowerCase();
    if (pin && pin !== model.fileSha256 && pin !== model.sha256) {
      const withSides =
        model.sha256 !== model.fileSha256 ? ` (with its weights files, ${model.sha256.slice(0, 12)}…)` : '';
      throw new WorkbenchError(
        'BAD_MODEL',
        `${ref.path}: the file's sha256 is ${model.fileSha256.slice(0, 12)}…${withSides}, but the experiment expects ${pin.slice(0, 12)}… (the model changed since the experiment was set up)`,
      );
    }
    prepared.push({ ...model, index, label });
    options.onModel?.(index + 1, spec.models.length, label);
  }
  checkSameExamples(prepared);
  if (spec.kind === 'seeds') checkCorresponding(prepared);
  return prepared;
}

/**
 * Every layer of every model must have the same rows: the same number of examples (each model's
 * own view of them counts alike), and under `tokens` the same tokens.
 */
export function checkSameExamples(models: readonly PreparedModel[]): void {
  const first = models[0]!;
  for (const m of models) {
    if (m.probe.n !== first.probe.n) {
      const views = m.probeSpec !== first.probeSpec ? ' (views of the same examples must have as many)' : '';
      throw new WorkbenchError(
        'BAD_PROBE',
        `the probe gives ${first.probe.n} examples for ${first.label} but ${m.probe.n} for ${m.label}${views}; CKA compares the same examples`,
      );
    }
  }
  checkRows(models.map((m) => ({ label: m.label, layers: m.layers })));
}

/** Seeds: position r of every model is "the same layer": same count, same op at each position. */
function checkCorresponding(models: readonly PreparedModel[]): void {
  const reference = models[0]!;
  for (const m of models.slice(1)) {
    if (m.layers.length !== reference.layers.length) {
      throw new WorkbenchError(
        'BAD_INPUT',
        `seeds compares trainings of one architecture: ${m.label} has ${m.layers.length} selected layers, ${reference.label} has ${reference.layers.length}`,
      );
    }
    m.layers.forEach((layer, r) => {
      const other = reference.layers[r]!;
      if (layer.op !== other.op) {
        throw new WorkbenchError(
          'BAD_INPUT',
          `seeds compares trainings of one architecture: layer ${r} of ${m.label} is ${layer.name} (${layer.op}), of ${reference.label} ${other.name} (${other.op})`,
        );
      }
    });
  }
  const kept = reference.layers.filter((l) => !reference.outputs.has(l.tensor));
  if (kept.length === 0) {
    throw new WorkbenchError(
      'BAD_INPUT',
      'seeds: the layer selection has only the logits, which the sanity check leaves out; select hidden layers too',
    );
  }
}
