/**
 * Preparing an extraction: read the model, pick the layers, open a runner session that exposes
 * them, open the probe for the session's inputs, calibrate (calibration.ts: how each layer splits
 * into examples and what its reduction makes of it). Nothing is extracted yet, so callers can look
 * at what will come (layers, rows, probe size and hash) before deciding, e.g. to check the
 * activation cache.
 */
import type { Dim, LayerInfo, OmittedLayer, ReduceSpec, Reduction } from '../../common/contract.js';
import { WorkbenchError } from '../../common/errors.js';
import { splitsPerExample, summarizeModel, typeResolutionCandidates, catalogueTensors } from '../onnx/catalogue.js';
import { channelAxes } from '../onnx/layouts.js';
import { selectLayers } from '../onnx/layer-selection.js';
import { loadModel, usableSideFiles, type LoadedModel } from '../onnx/model-file.js';
import { outputsToAdd } from '../onnx/surgery.js';
import { type ModelInput } from '../probe/model-input.js';
import { formatShape } from '../../common/format.js';
import { DEFAULT_LAYER_SELECTION } from '../../common/layer-selections.js';
import type { FeedSource } from '../probe/feeds.js';
import { openFeeds, type FeedContext } from '../probe/open-feeds.js';
import { MAX_VALUES_PER_EXAMPLE, formatValueCount } from '../probe/source.js';
import type { ImageOptions, ProbeSpec } from '../probe/spec.js';
import type { ModelRunner, RunnerSession } from '../runner/model-runner.js';
import { resolveModelTypes } from '../runner/model-types.js';
import type { OptimizationMode, ValueMeta } from '../runner/protocol.js';
import type { WriteEstimate } from '../io/disk-space.js';
import { runBatches, type BatchLoopOptions } from './batch-loop.js';
import { calibrate } from './calibration.js';
import { LeftOutLayers } from './left-out.js';
import type { ExtractedLayer, ExtractionResult } from './types.js';
import { estimateWrites } from './write-estimate.js';

export interface ExtractionRequest {
  /** Path of the ONNX model. */
  model: string;
  /** A probe spec (`fashion-mnist:N`, `npy:PATH`, `text:FILE`, …) or its parsed form. */
  probe: string | ProbeSpec;
  /** Layer selection (`all`, `op:Relu`, `preset:blocks`, tensor names); default `preset:blocks`. */
  layers?: string;
  /** Options for `images:` probes given apart from the spec. */
  imageOptions?: ImageOptions;
  /** `fast` (default) or `exact` (no ORT graph rewrites; see runner/session-options.ts). */
  optimization?: OptimizationMode;
  /** How layers become rows (default `flatten`). */
  reduce?: ReduceSpec;
  /** Text probes: a tokenizer.json (default: the one beside the model). */
  tokenizer?: string;
  /** The input that marks valid tokens (default `attention_mask`). */
  maskInput?: string;
}

/** A layer that will be extracted. */
export interface PlannedLayer extends Pick<LayerInfo, 'tensor' | 'name' | 'op'> {
  dtype: string;
  /** One row's shape, behind an unknown batch axis (as a model's layer shapes are written). */
  shape: Dim[] | null;
  reduction: Reduction;
  /** The layer's id in caches and results (tensor, with the reduction unless `flatten`). */
  key: string;
  /** Rows over the probe: its examples, or its tokens. */
  rows: number;
  features: number;
  tokenization?: string;
}

/**
 * What preparing an extraction found out about a model file, a selection and a probe: enough to
 * open the same extraction again (same file bytes, selection, probe and reductions) without
 * resolving types or calibrating again. The experiments runner keeps it from its prepare stage.
 */
export interface Calibration {
  sha256: string;
  /** Every selected tensor, left-out ones included: the session exposes the same outputs again, so onnxruntime optimizes the graph the same way. */
  selected: string[];
  /** The layers calibration kept, with their plans. */
  extracted: ExtractedLayer[];
  omitted: OmittedLayer[];
  notes: string[];
}

export function plannedLayer(layer: ExtractedLayer): PlannedLayer {
  return {
    tensor: layer.tensor,
    name: layer.name,
    op: layer.op,
    dtype: layer.dtype,
    shape: [null, ...layer.shape],
    reduction: layer.reduction,
    key: layer.key,
    rows: layer.rows,
    features: layer.features,
    ...(layer.tokenization !== undefined ? { tokenization: layer.tokenization } : {}),
  };
}

/** Model + selected layers from the file (onnxruntime consulted only for tensors the file leaves untyped). */
async function selectModelLayers(
  runner: ModelRunner,
  loaded: LoadedModel,
  request: ExtractionRequest,
  signal: AbortSignal | undefined,
): Promise<LayerInfo[]> {
  const { facts, model } = loaded;
  const graph = model.graph!;
  const catalogue = catalogueTensors(graph, facts.path);
  const untyped = typeResolutionCandidates(graph, catalogue).some((t) => !catalogue.types.has(t));
  const resolved = untyped ? await resolveModelTypes(runner, loaded, signal) : null;
  const summary = summarizeModel(model, facts, resolved?.types);
  const selection = (request.layers ?? DEFAULT_LAYER_SELECTION).trim();
  return selectLayers(selection, {
    layers: summary.layers,
    graph,
    source: facts.path,
    dtypeOf: (t) => resolved?.types.get(t)?.dtype ?? catalogue.types.get(t)?.dtype,
  });
}

/** Layers named one by one (not `all`, `op:` or a preset). */
function isExplicit(selection: string): boolean {
  return !(selection === 'all' || selection.startsWith('op:') || selection.startsWith('preset:'));
}

/** The model's inputs as its session reports them. */
export function modelInputs(session: { inputs: readonly ValueMeta[] }): ModelInput[] {
  return session.inputs
    .filter((i) => i.isTensor)
    .map((meta) => ({ name: meta.name, shape: meta.shape ?? [null], dtype: meta.type ?? 'unknown' }));
}

/** The batch size a model fixes (its first input's first axis), or null. */
export function fixedBatchOf(inputs: readonly ModelInput[]): number | null {
  const first = inputs[0]?.shape[0];
  return typeof first === 'number' && first > 0 ? first : null;
}

export class PreparedExtraction {
  /** The layers that will be extracted. */
  readonly layers: PlannedLayer[];

  private constructor(
    readonly model: { path: string; sha256: string },
    readonly inputs: ModelInput[],
    readonly probe: FeedSource,
    readonly notes: string[],
    private readonly session: RunnerSession,
    /** Names of the model's graph outputs (the logits), as the file declares them. */
    readonly graphOutputs: string[],
    /** What this open found: pass it to a later open of the same file, selection and probe. */
    readonly calibration: Calibration,
    /**
     * The model file's own sha256 and the side files (external data) it names, as written in it:
     * `model.sha256` covers those too (onnx/model-digest.ts).
     */
    readonly file: { sha256: string; sideFiles: string[] },
  ) {
    this.layers = calibration.extracted.map(plannedLayer);
  }

  get omitted(): OmittedLayer[] {
    return this.calibration.omitted;
  }

  /**
   * With `known` (what an earlier open of this file, selection and probe found), a file whose
   * sha256 is still `known.sha256` is opened without resolving types or calibrating.
   */
  static async open(
    runner: ModelRunner,
    request: ExtractionRequest,
    context: FeedContext & { signal?: AbortSignal | undefined } = {},
    known?: Calibration,
  ): Promise<PreparedExtraction> {
    const loaded = await loadModel(request.model);
    const { facts, model } = loaded;
    const sideFiles = usableSideFiles(loaded).map((side) => side.location);
    const reuse = known !== undefined && known.sha256 === facts.sha256 ? known : null;
    const selected = reuse ? null : await selectModelLayers(runner, loaded, request, context.signal);
    const explicit = isExplicit((request.layers ?? DEFAULT_LAYER_SELECTION).trim());
    const selectedTensors = reuse ? reuse.selected : selected!.map((l) => l.tensor);
    const extraOutputs = outputsToAdd(model.graph!, selectedTensors, facts.path);
    const session = await runner.openSession(
      // The runner checks the file it reads against the file's own digest (model.sha256 covers side files too).
      {
        model: { path: facts.path, sha256: facts.fileSha256 },
        extraOutputs,
        optimization: request.optimization ?? 'fast',
      },
      { signal: context.signal },
    );
    try {
      const inputs = modelInputs(session);
      const probe = await openFeeds(request.probe, inputs, {
        ...context,
        modelPath: facts.path,
        imageOptions: request.imageOptions ?? context.imageOptions ?? {},
        ...(request.tokenizer !== undefined ? { tokenizer: request.tokenizer } : {}),
        ...(request.maskInput !== undefined ? { maskInput: request.maskInput } : {}),
      });
      const modelRef = { path: facts.path, sha256: facts.sha256 };
      try {
        let calibration: Calibration;
        if (reuse) {
          calibration = reuse;
        } else {
          const { kept, omitted, notes } = keepPerExample(selected!, session.outputs, inputs, explicit, facts.path);
          const layouts = channelAxes(model.graph!);
          const found = await calibrate({
            session,
            feeds: probe,
            fixedBatch: fixedBatchOf(inputs),
            layers: kept.map((l) => ({
              tensor: l.tensor,
              name: l.name,
              op: l.op,
              channel: layouts.get(l.tensor) ?? null,
            })),
            reduce: request.reduce,
            explicit,
            model: modelRef,
            signal: context.signal,
          });
          calibration = {
            sha256: facts.sha256,
            selected: selectedTensors,
            extracted: found.layers,
            omitted: [...omitted, ...found.omitted],
            notes: [...notes, ...found.notes],
          };
        }
        const graphOutputs = (model.graph?.output ?? []).map((o) => o.name);
        return new PreparedExtraction(
          modelRef,
          inputs,
          probe,
          [...calibration.notes],
          session,
          graphOutputs,
          calibration,
          { sha256: facts.fileSha256, sideFiles },
        );
      } catch (err) {
        await probe.close();
        throw err;
      }
    } catch (err) {
      await session.close();
      throw err;
    }
  }

  /** Runs the extraction of all prepared layers, or of those with `keys` (or tensors) among them. */
  async run(options: BatchLoopOptions & { keys?: readonly string[] } = {}): Promise<ExtractionResult> {
    const chosen = (l: ExtractedLayer) => !options.keys || options.keys.includes(l.key);
    const layers = this.calibration.extracted.filter(chosen);
    if (layers.length === 0) throw new WorkbenchError('INTERNAL', 'run() with no layers to extract');
    return runBatches(
      {
        session: this.session,
        feeds: this.probe,
        fixedBatch: fixedBatchOf(this.inputs),
        layers,
        model: this.model,
        notes: this.notes,
        omitted: this.calibration.omitted,
      },
      options,
    );
  }

  /** What writing the activations of `layers` (default: every prepared layer) to disk comes to. */
  writeEstimate(layers?: readonly { key: string }[]): WriteEstimate {
    const keys = layers ? new Set(layers.map((l) => l.key)) : null;
    const chosen = this.layers.filter((l) => !keys || keys.has(l.key));
    return estimateWrites(
      this.probe.n,
      chosen.map((l) => ({ rows: l.rows, features: l.features })),
    );
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.probe.close(), this.session.close()]);
  }
}

/** Values per example of a layer whose shape onnxruntime knows fully (batch axis aside); null otherwise. */
function knownValuesPerExample(shape: readonly (number | string | null)[] | null): number | null {
  if (!shape || shape.length < 2) return null;
  const dims = shape.slice(1);
  return dims.every((d): d is number => typeof d === 'number' && d >= 0) ? dims.reduce((a, b) => a * b, 1) : null;
}

/**
 * Leaves out (or, for layers named explicitly, refuses) tensors whose first axis onnxruntime says
 * is a fixed size other than the batch's, and layers too large per example to extract (see
 * MAX_VALUES_PER_EXAMPLE). The others go to calibration, which sees their real shapes.
 */
function keepPerExample(
  layers: LayerInfo[],
  outputs: readonly ValueMeta[],
  inputs: readonly ModelInput[],
  explicit: boolean,
  path: string,
): { kept: LayerInfo[]; omitted: OmittedLayer[]; notes: string[] } {
  const kept: LayerInfo[] = [];
  const omitted: OmittedLayer[] = [];
  const leftOut = new LeftOutLayers({ shown: 5, separator: ', ' });
  const batchDim = inputs[0]?.shape[0];
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
      omitted.push({
        tensor: layer.tensor,
        name: layer.name,
        reason: `it has ${formatValueCount(values)} per example; the workbench takes at most ${formatValueCount(MAX_VALUES_PER_EXAMPLE)}`,
      });
      continue;
    }
    // A fixed first axis other than the batch's may still hold the examples on another axis
    // (a stacked [3, batch, …]): calibration looks, unless every axis is fixed.
    const free = shape !== null && shape.slice(1).some((d) => typeof d !== 'number');
    if (meta && meta.isTensor && (splitsPerExample(shape, batchDim) || free)) {
      kept.push(layer);
      continue;
    }
    const what = `layer '${layer.name}' (tensor ${layer.tensor}) has shape ${formatShape(shape)}`;
    const why = `its first axis is not the examples (the input's batch axis is ${formatShape([batchDim ?? null])}), so it cannot be split per example`;
    if (explicit) throw new WorkbenchError('BAD_INPUT', `${path}: ${what}: ${why}`);
    leftOut.dropped.push(`${layer.name} ${formatShape(shape)}`);
    omitted.push({ tensor: layer.tensor, name: layer.name, reason: `it has shape ${formatShape(shape)}: ${why}` });
  }
  leftOut.requireKept(kept.length, path, 'none of the selected layers split per example');
  return { kept, omitted, notes: leftOut.notes() };
}
