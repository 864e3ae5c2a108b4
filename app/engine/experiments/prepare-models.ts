/**
 * The first stage of a run: what each model of the spec is, before any heavy work. For each model
 * the activation engine prepares an extraction (reads and hashes the file, resolves the layer
 * selection, opens the probe against the model's input, calibrates) and closes it again — a
 * session holds one of the runner's processes, so sessions are not kept open across this stage;
 * the calibration is kept instead, so the extraction opens the model without calibrating again. The layout it finds
 * is kept by the file's sha256, so later runs of the same file only hash it and open the probe
 * (which re-hashes the probe data: a changed probe is never mistaken for the old one). Checked here, so a
 * run fails in seconds rather than after an hour: the file's sha256 against the spec, one probe
 * size for all models, and for seeds that the models' layers correspond.
 */
import { basename, resolve } from 'node:path';
import type { ExperimentSpec } from '../../common/contract.js';
import { WorkbenchError } from '../../common/errors.js';
import type { ActivationEngine } from '../activations/engine.js';
import type { Calibration, PlannedLayer } from '../activations/prepare.js';
import { fileSha256 } from '../io/file-hash.js';
import { openProbe } from '../probe/open-probe.js';
import type { LayoutStore } from '../store/layouts.js';
import { layerSelectionOf } from './spec.js';

export interface PreparedModel {
  /** Position in spec.models. */
  index: number;
  path: string;
  label: string;
  sha256: string;
  selection: string;
  layers: PlannedLayer[];
  /** Tensors that are graph outputs (the logits), by name. */
  outputs: Set<string>;
  probe: { spec: string; hash: string; n: number };
  /** What the engine's prepare found (none for a cached layout): the extraction opens again without calibrating. */
  calibration?: Calibration;
}

export interface PrepareOptions {
  signal?: AbortSignal;
  onModel?: (done: number, total: number, label: string) => void;
  /** Cached layouts: with one, a model needs no onnxruntime session (only its hash and the probe). */
  layouts?: LayoutStore;
  /** Where the built-in probe lives. */
  modelsDir?: string;
  /** The most examples a probe may have. */
  maxProbeExamples?: number;
}

/** Layout and probe of one model: from the layout cache when the file's hash is known there, else from the engine. */
async function prepareOne(
  engine: ActivationEngine,
  spec: ExperimentSpec,
  ref: { path: string; label: string; selection: string; index: number },
  options: PrepareOptions,
): Promise<PreparedModel> {
  const path = resolve(ref.path);
  // A file that cannot be read falls through to the engine, whose error names the problem.
  const sha256 = options.layouts ? await fileSha256(path).catch(() => null) : null;
  const cached = sha256 ? options.layouts!.get(sha256, ref.selection) : null;
  if (sha256 && cached) {
    const probe = await openProbe(spec.probe, cached.input, {
      ...(options.modelsDir ? { modelsDir: options.modelsDir } : {}),
      ...(options.maxProbeExamples !== undefined ? { maxExamples: options.maxProbeExamples } : {}),
    });
    try {
      return {
        index: ref.index,
        path,
        label: ref.label,
        sha256,
        selection: ref.selection,
        layers: cached.layers,
        outputs: new Set(cached.outputs),
        probe: { spec: probe.spec, hash: probe.hash, n: probe.n },
      };
    } finally {
      await probe.close();
    }
  }
  const job = await engine.prepare(
    { model: path, probe: spec.probe, layers: ref.selection },
    { signal: options.signal },
  );
  try {
    const outputs = job.graphOutputs;
    options.layouts?.put(job.model.sha256, ref.selection, { layers: job.layers, outputs, input: job.input });
    return {
      index: ref.index,
      path: job.model.path,
      label: ref.label,
      sha256: job.model.sha256,
      selection: ref.selection,
      layers: job.layers,
      outputs: new Set(outputs),
      probe: { spec: job.probe.spec, hash: job.probe.hash, n: job.probe.n },
      calibration: job.calibration,
    };
  } finally {
    await job.close();
  }
}

export async function prepareModels(
  engine: ActivationEngine,
  spec: ExperimentSpec,
  options: PrepareOptions = {},
): Promise<PreparedModel[]> {
  const prepared: PreparedModel[] = [];
  // The same file with the same selection is prepared once.
  const seen = new Map<string, PreparedModel>();
  for (const [index, ref] of spec.models.entries()) {
    if (options.signal?.aborted) throw new WorkbenchError('CANCELLED', 'cancelled');
    const selection = layerSelectionOf(spec, index);
    const label = ref.label ?? basename(ref.path);
    const key = `${resolve(ref.path)}\0${selection}`;
    let model = seen.get(key);
    if (!model) {
      model = await prepareOne(engine, spec, { path: ref.path, label, selection, index }, options);
      seen.set(key, model);
    }
    if (ref.sha256 && ref.sha256.toLowerCase() !== model.sha256) {
      throw new WorkbenchError(
        'BAD_MODEL',
        `${ref.path}: the file's sha256 is ${model.sha256.slice(0, 12)}…, but the experiment expects ${ref.sha256.slice(0, 12)}… (the model changed since the experiment was set up)`,
      );
    }
    prepared.push({ ...model, index, label });
    options.onModel?.(index + 1, spec.models.length, label);
  }
  checkSameProbeSize(prepared);
  if (spec.kind === 'seeds') checkCorresponding(prepared);
  return prepared;
}

function checkSameProbeSize(models: readonly PreparedModel[]): void {
  const first = models[0]!;
  for (const m of models) {
    if (m.probe.n !== first.probe.n) {
      throw new WorkbenchError(
        'BAD_PROBE',
        `the probe gives ${first.probe.n} examples for ${first.label} but ${m.probe.n} for ${m.label}; CKA compares the same examples`,
      );
    }
  }
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
