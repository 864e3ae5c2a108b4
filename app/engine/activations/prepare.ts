/**
 * Preparing an extraction: read the model, pick the layers, open a runner session that exposes
 * them, open the probe against the session's input. Nothing runs yet, so callers can look at what
 * will come (layers, probe size and hash) before deciding, e.g. to check the activation cache.
 */
import type { LayerInfo } from '../../common/contract.js';
import { WorkbenchError } from '../../common/errors.js';
import { splitsPerExample, summarizeModel, typeResolutionCandidates, catalogueTensors } from '../onnx/catalogue.js';
import { checkExternalData } from '../onnx/external-data.js';
import { selectLayers } from '../onnx/layer-selection.js';
import { loadModel, type LoadedModel } from '../onnx/model-file.js';
import { outputsToAdd } from '../onnx/surgery.js';
import { type ModelInput } from '../probe/model-input.js';
import { formatShape } from '../../common/format.js';
import { DEFAULT_LAYER_SELECTION } from '../../common/layer-selections.js';
import { openProbe, type ProbeContext } from '../probe/open-probe.js';
import { MAX_VALUES_PER_EXAMPLE, formatValueCount, type ProbeSource } from '../probe/source.js';
import type { ImageOptions, ProbeSpec } from '../probe/spec.js';
import type { ModelRunner, RunnerSession } from '../runner/model-runner.js';
import { resolveModelTypes } from '../runner/model-types.js';
import type { OptimizationMode, ValueMeta } from '../runner/protocol.js';
import type { WriteEstimate } from '../io/disk-space.js';
import { runBatches, type BatchLoopOptions } from './batch-loop.js';
import { LeftOutLayers } from './left-out.js';
import type { ExtractedLayer, ExtractionResult } from './types.js';
import { estimateWrites } from './write-estimate.js';

export interface ExtractionRequest {
  /** Path of the ONNX model. */
  model: string;
  /** A probe spec (`fashion-mnist:N`, `npy:PATH`, …) or its parsed form. */
  probe: string | ProbeSpec;
  /** Layer selection (`all`, `op:Relu`, `preset:blocks`, tensor names); default `preset:blocks`. */
  layers?: string;
  /** Options for `images:` probes given apart from the spec. */
  imageOptions?: ImageOptions;
  /** `fast` (default) or `exact` (no ORT graph rewrites; see runner/session-options.ts). */
  optimization?: OptimizationMode;
}

/** A layer that will be extracted; `shape` is what onnxruntime infers (with the batch axis). */
export interface PlannedLayer extends Pick<LayerInfo, 'tensor' | 'name' | 'op'> {
  dtype: string;
  shape: LayerInfo['shape'];
}

/**
 * What preparing an extraction found out about a model file and a selection: enough to open the
 * same extraction again (same file bytes, same selection, same probe) without resolving types or
 * calibrating again. The experiments runner keeps it from its prepare stage for the extraction.
 */
export interface Calibration {
  sha256: string;
  /** Every selected tensor, dropped ones included: the session exposes the same outputs again, so onnxruntime optimizes the graph the same way. */
  selected: string[];
  /** The layers kept (PreparedExtraction.layers). */
  layers: PlannedLayer[];
  /** The same layers as calibration saw them (per-example shape, dtype). */
  extracted: ExtractedLayer[];
  notes: string[];
}

/** Model + selected layers from the file (onnxruntime consulted only for tensors the file leaves untyped). */
async function selectModelLayers(
  runner: ModelRunner,
  loaded: LoadedModel,
  request: ExtractionRequest,
  signal: AbortSignal | undefined,
): Promise<{ layers: LayerInfo[]; explicit: boolean }> {
  const { facts, model } = loaded;
  const graph = model.graph!;
  const catalogue = catalogueTensors(graph, facts.path);
  const untyped = typeResolutionCandidates(graph, catalogue).some((t) => !catalogue.types.has(t));
  const resolved = untyped ? await resolveModelTypes(runner, loaded, signal) : null;
  const summary = summarizeModel(model, facts, resolved?.types);
  const selection = (request.layers ?? DEFAULT_LAYER_SELECTION).trim();
  const layers = selectLayers(selection, {
    layers: summary.layers,
    graph,
    source: facts.path,
    dtypeOf: (t) => resolved?.types.get(t)?.dtype ?? catalogue.types.get(t)?.dtype,
  });
  return { layers, explicit: isExplicit(selection) };
}

/** Layers named one by one (not `all`, `op:` or a preset). */
function isExplicit(selection: string): boolean {
  return !(selection === 'all' || selection.startsWith('op:') || selection.startsWith('preset:'));
}

function modelInput(session: RunnerSession, path: string): ModelInput {
  const inputs = session.inputs.filter((i) => i.isTensor);
  if (inputs.length !== 1) {
    throw new WorkbenchError(
      'UNSUPPORTED',
      `${path}: the model has ${inputs.length} inputs (${inputs.map((i) => i.name).join(', ')}); probe sets feed models with one input`,
    );
  }
  const meta = inputs[0]!;
  return { name: meta.name, shape: meta.shape ?? [null], dtype: meta.type ?? 'unknown' };
}

export class PreparedExtraction {
  /** The layers that will be extracted. */
  readonly layers: PlannedLayer[];

  private constructor(
    readonly model: { path: string; sha256: string },
    readonly input: ModelInput,
    readonly probe: ProbeSource,
    readonly notes: string[],
    private readonly session: RunnerSession,
    /** The layers were named one by one (not `all`, `op:` or a preset). */
    readonly explicit: boolean,
    /** Names of the model's graph outputs (the logits), as the file declares them. */
    readonly graphOutputs: string[],
    /** What this open found: pass it to a later open of the same file and selection. */
    readonly calibration: Calibration,
  ) {
    this.layers = calibration.layers;
  }

  /**
   * With `known` (what an earlier open of this file and selection found), a file whose sha256 is
   * still `known.sha256` is opened without resolving types or calibrating; otherwise as without it.
   */
  static async open(
    runner: ModelRunner,
    request: ExtractionRequest,
    context: ProbeContext & { signal?: AbortSignal | undefined } = {},
    known?: Calibration,
  ): Promise<PreparedExtraction> {
    const loaded = await loadModel(request.model);
    const { facts, model } = loaded;
    await checkExternalData(model, facts.path);
    const reuse = known !== undefined && known.sha256 === facts.sha256 ? known : null;
    const selected = reuse ? null : await selectModelLayers(runner, loaded, request, context.signal);
    const explicit = isExplicit((request.layers ?? DEFAULT_LAYER_SELECTION).trim());
    const extraOutputs = outputsToAdd(
      model.graph!,
      reuse ? reuse.selected : selected!.layers.map((l) => l.tensor),
      facts.path,
    );
    const session = await runner.openSession(
      { model: { path: facts.path, sha256: facts.sha256 }, extraOutputs, optimization: request.optimization ?? 'fast' },
      { signal: context.signal },
    );
    try {
      const input = modelInput(session, facts.path);
      const { planned, notes } = reuse
        ? { planned: reuse.layers, notes: [...reuse.notes] }
        : keepPerExample(selected!.layers, session.outputs, input, explicit, facts.path);
      const probe = await openProbe(request.probe, input, {
        ...context,
        imageOptions: request.imageOptions ?? context.imageOptions,
      });
      const modelRef = { path: facts.path, sha256: facts.sha256 };
      try {
        const calibrated = reuse
          ? { kept: reuse.layers, extracted: reuse.extracted }
          : await calibrate({ session, input, probe, planned, explicit, model: modelRef }, notes, context.signal);
        const graphOutputs = (model.graph?.output ?? []).map((o) => o.name);
        const calibration: Calibration = {
          sha256: facts.sha256,
          selected: reuse ? reuse.selected : selected!.layers.map((l) => l.tensor),
          layers: calibrated.kept,
          extracted: calibrated.extracted,
          notes: [...notes],
        };
        return new PreparedExtraction(modelRef, input, probe, notes, session, explicit, graphOutputs, calibration);
      } catch (err) {
        await probe.close();
        throw err;
      }
    } catch (err) {
      await session.close();
      throw err;
    }
  }

  /** Runs the extraction of all prepared layers, or of `tensors` among them. */
  async run(options: BatchLoopOptions & { tensors?: readonly string[] } = {}): Promise<ExtractionResult> {
    const chosen = (l: { tensor: string }) => !options.tensors || options.tensors.includes(l.tensor);
    const layers = this.layers.filter(chosen);
    if (layers.length === 0) throw new WorkbenchError('INTERNAL', 'run() with no layers to extract');
    return runBatches(
      {
        session: this.session,
        input: this.input,
        probe: this.probe,
        layers,
        calibrated: this.calibration.extracted.filter(chosen),
        explicit: this.explicit,
        model: this.model,
        notes: this.notes,
      },
      options,
    );
  }

  /** What writing the activations of `tensors` (default: every prepared layer) to disk comes to. */
  writeEstimate(tensors?: readonly string[]): WriteEstimate {
    const chosen = this.calibration.extracted.filter((l) => !tensors || tensors.includes(l.tensor));
    return estimateWrites(
      this.probe.n,
      chosen.map((l) => l.features),
    );
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.probe.close(), this.session.close()]);
  }
}

/** The first `count` examples of a probe (closing it is left to the probe itself). */
function firstExamples(probe: ProbeSource, count: number): ProbeSource {
  return {
    spec: probe.spec,
    hash: probe.hash,
    n: Math.min(probe.n, count),
    exampleShape: probe.exampleShape,
    notes: [],
    read: (start, length) => probe.read(start, length),
    close: async () => undefined,
  };
}

/**
 * Runs the calibration batches (2 and 3 examples, see batch-loop.ts) and keeps the layers whose
 * first axis really is the examples. onnxruntime reports an unknown rank like a scalar's (`[]`),
 * so metadata alone cannot tell a scalar from a layer; what the model puts out can. Done here,
 * every user of the prepared extraction (experiment plans, the cache, extract) sees the layers
 * extraction will deliver, instead of finding one missing afterwards. Notes say what was left out.
 */
async function calibrate(
  job: {
    session: RunnerSession;
    input: ModelInput;
    probe: ProbeSource;
    planned: PlannedLayer[];
    explicit: boolean;
    model: { path: string; sha256: string };
  },
  notes: string[],
  signal: AbortSignal | undefined,
): Promise<{ kept: PlannedLayer[]; extracted: ExtractedLayer[] }> {
  const result = await runBatches(
    {
      session: job.session,
      input: job.input,
      probe: firstExamples(job.probe, 5),
      layers: job.planned,
      explicit: job.explicit,
      model: job.model,
      notes: [],
    },
    { nonFinite: 'report', ...(signal ? { signal } : {}) },
  );
  notes.push(...result.notes);
  const kept = new Set(result.layers.map((l) => l.tensor));
  return { kept: job.planned.filter((l) => kept.has(l.tensor)), extracted: result.layers };
}

/** Values per example of a layer whose shape onnxruntime knows fully (batch axis aside); null otherwise. */
function knownValuesPerExample(shape: readonly (number | string | null)[] | null): number | null {
  if (!shape || shape.length < 2) return null;
  const dims = shape.slice(1);
  return dims.every((d): d is number => typeof d === 'number' && d >= 0) ? dims.reduce((a, b) => a * b, 1) : null;
}

/**
 * Drops (or, for layers named explicitly, refuses) tensors that do not split per example, and
 * layers too large per example to extract (see MAX_VALUES_PER_EXAMPLE).
 */
function keepPerExample(
  layers: LayerInfo[],
  outputs: readonly ValueMeta[],
  input: ModelInput,
  explicit: boolean,
  path: string,
): { planned: PlannedLayer[]; notes: string[] } {
  const planned: PlannedLayer[] = [];
  const leftOut = new LeftOutLayers({ shown: 5, separator: ', ' });
  for (const layer of layers) {
    const meta = outputs.find((o) => o.name === layer.tensor);
    const shape = meta?.shape ?? null;
    const values = knownValuesPerExample(shape);
    if (values !== null && values > MAX_VALUES_PER_EXAMPLE) {
      const what = `layer '${layer.name}' (tensor ${layer.tensor}) ${formatShape(shape)} has ${formatValueCount(values)} per example`;
      if (explicit) {
        throw new WorkbenchError(
          'OUT_OF_MEMORY',
          `${path}: ${what}; the workbench takes at most ${formatValueCount(MAX_VALUES_PER_EXAMPLE)} per example`,
        );
      }
      leftOut.tooLarge.push(`${layer.name} ${formatShape(shape)}`);
      continue;
    }
    if (meta && meta.isTensor && splitsPerExample(shape, input.shape[0])) {
      planned.push({ tensor: layer.tensor, name: layer.name, op: layer.op, dtype: meta.type ?? layer.dtype, shape });
      continue;
    }
    const what = `layer '${layer.name}' (tensor ${layer.tensor}) has shape ${formatShape(shape)}`;
    if (explicit) {
      throw new WorkbenchError(
        'BAD_INPUT',
        `${path}: ${what}: its first axis is not the examples (the input's batch axis is ${formatShape([input.shape[0] ?? null])}), so it cannot be split per example`,
      );
    }
    leftOut.dropped.push(`${layer.name} ${formatShape(shape)}`);
  }
  leftOut.requireKept(planned.length, path, 'none of the selected layers split per example');
  return { planned, notes: leftOut.notes() };
}
