/**
 * The one typed contract every shell adapts (Electron IPC, HTTP + WebSocket, CLI) and the renderer
 * programs against. Types only: the renderer imports this file with `import type`.
 *
 * Every method takes one JSON-serialisable request object and resolves to one JSON-serialisable
 * response; failures are {@link WorkbenchErrorData} values carried in an envelope
 * ({@link ApiEnvelope}), never transport-specific exceptions.
 */

export type ErrorCode =
  | 'BAD_INPUT' // a request or argument is malformed
  | 'NOT_FOUND' // a file, run or experiment does not exist
  | 'BAD_MODEL' // the file is not a valid ONNX model (or one we cannot read)
  | 'BAD_PROBE' // the probe set cannot be read or does not fit the model
  | 'RUNTIME' // onnxruntime refused or failed while running the model
  | 'NUMERIC' // NaN/Inf or otherwise undefined numbers
  | 'CANCELLED' // the user cancelled
  | 'TIMEOUT' // a stage took longer than its limit
  | 'OUT_OF_MEMORY' // the work would exceed the memory budget
  | 'DISK_FULL'
  | 'FORBIDDEN' // the path or action is not allowed
  | 'UNAUTHORIZED' // missing or wrong access token
  | 'UNSUPPORTED'
  | 'INTERNAL';

export interface WorkbenchErrorData {
  code: ErrorCode;
  /** One line a person can act on, naming the file/layer/value involved. */
  message: string;
  details?: Record<string, unknown>;
}

export type ApiEnvelope<T> = { ok: true; value: T } | { ok: false; error: WorkbenchErrorData };

/** A dimension: a fixed size, a symbolic name (e.g. "batch"), or unknown. */
export type Dim = number | string | null;

/** ONNX element types by their ONNX name in lower case: "float32", "int64", "bool", … */
export type DType = string;

export interface TensorInfo {
  name: string;
  dtype: DType;
  /** null when the model does not say. */
  shape: Dim[] | null;
}

/** A tensor in the graph that can be compared: every float node output, in graph order. */
export interface LayerInfo {
  /** The ONNX tensor name: the layer's id everywhere. */
  tensor: string;
  /** Name of the node that produces it (may be empty in the file; then a generated one). */
  node: string;
  /** Short name for people, derived from the node name (`/layer1/layer1.0/relu/Relu` → `layer1.0.relu`). */
  name: string;
  op: string;
  dtype: DType;
  /** Shape including the batch axis, where known. */
  shape: Dim[] | null;
  /** Position of the producing node in topological order. */
  index: number;
  isGraphOutput: boolean;
  /**
   * `none` when onnxruntime's shapes already show that its first axis is not the examples (a
   * fixed size other than the batch's, e.g. a stacked [3, batch, …]): selecting it gets it listed
   * as omitted, with `splitReason`. Real splits (batch × heads) come from calibrateModel.
   */
  split?: 'none';
  splitReason?: string;
}

/**
 * How a layer's activations split into examples, as two small calibration batches (2 and 3
 * examples of synthetic inputs) showed: `examples` — the first axis is the examples; `grouped` —
 * the first axis is examples × `groups` (e.g. batch × attention heads), regrouped to
 * [examples, groups, …] before comparing; `none` — neither, so the layer cannot be compared
 * (`reason` says why).
 */
export interface CalibratedLayer {
  tensor: string;
  split: 'examples' | 'grouped' | 'none';
  groups?: number;
  /** The examples are on this axis (a stacked [3, batch, …]), not the first. */
  batchAxis?: number;
  /** One example's shape as the calibration saw it (after regrouping); `seq` marks axes that follow the sequence length. */
  shape: (number | 'seq')[] | null;
  reason?: string;
}

export interface ModelCalibration {
  path: string;
  sha256: string;
  /** Per catalogue layer, in catalogue order. */
  layers: CalibratedLayer[];
  /** What the calibration fed (e.g. "random float32 [2|3, 1, 28, 28]", "token ids, lengths 5 and 6"). */
  inputs: string;
  notes: string[];
}

export interface OpsetInfo {
  domain: string;
  version: number;
}

export interface ModelSummary {
  path: string;
  fileName: string;
  sizeBytes: number;
  /**
   * The model's sha256: its file's, or — when it keeps weights in side files (external data) — a
   * sha256 over the file's and each side file's digests, so changed weights are another model.
   */
  sha256: string;
  /** The sha256 of the model file alone (equal to `sha256` without side files). */
  fileSha256: string;
  irVersion: number;
  opsets: OpsetInfo[];
  /** Version of the default ("ai.onnx") opset, or null if absent. */
  opset: number | null;
  producer: { name: string; version: string };
  graphName: string;
  inputs: TensorInfo[];
  outputs: TensorInfo[];
  /** Number of parameters: elements of all initializers that are not graph inputs' defaults. */
  parameters: number;
  nodeCount: number;
  /** Counts of nodes per op type, most frequent first. */
  opCounts: { op: string; count: number }[];
  /** True if any initializer lives in an external data file. */
  usesExternalData: boolean;
  layers: LayerInfo[];
}

/** One node of a model's graph, as the graph view draws it. */
export interface GraphNode {
  /** Position in topological order: the `index` of the layers it produces. */
  index: number;
  /** The node's name in the file (or a generated one, as LayerInfo.node). */
  name: string;
  op: string;
  /** Tensors it reads that a node or a graph input produces (weights and constants left out). */
  inputs: string[];
  /** Tensors it produces (the layers among them are in the model's catalogue). */
  outputs: string[];
  /** How many of its inputs are weights (initializers or constants). */
  weights: number;
}

/** A model's top-level graph: its nodes in topological order (Constant nodes folded into weights). */
export interface ModelGraph {
  path: string;
  sha256: string;
  /** Graph inputs (weights left out) and outputs, by tensor name. */
  inputs: string[];
  outputs: string[];
  nodes: GraphNode[];
}

export interface AppInfo {
  name: string;
  version: string;
  node: string;
  onnxruntime: string;
  platform: string;
}

export interface InspectModelRequest {
  path: string;
}

/** Methods of the API, as request → response pairs. Shells derive their routes from this map. */
export interface ApiMethods {
  appInfo: { request: Record<string, never>; response: AppInfo };
  /** Reads a model and allows its path for this session (`openModel` also keeps it in the library). */
  inspectModel: { request: InspectModelRequest; response: ModelSummary };

  // Models and probe sets. Opening a file is what allows later requests to use its path.
  /** Models opened before (newest first; one entry per file content) and the shipped zoo. */
  listModels: { request: Record<string, never>; response: ModelEntry[] };
  /** Removes a model from the recently opened list (every path it was opened under, by content). */
  forgetModel: { request: { path: string }; response: { removed: number } };
  /** Reads an ONNX model, adds it to the library and allows its path. */
  openModel: { request: { path: string }; response: ModelSummary };
  /** The model's graph (nodes in topological order, their tensors), for the graph view; a path opened before. */
  modelGraph: { request: { path: string }; response: ModelGraph };
  /** Built-in probe sets and the probe files/folders opened before. */
  listProbes: { request: Record<string, never>; response: ProbeSetEntry[] };
  /**
   * Opens a probe spec (against `model`'s inputs when given), checks it and allows its path, and
   * the tokenizer's (text probes: `tokenizer`, else the one beside the model).
   */
  openProbe: { request: OpenProbeRequest; response: ProbeInfo };
  /**
   * Runs two small batches of synthetic inputs through the model to learn how each catalogue
   * layer splits into examples and its real per-example shape (the catalogue's `?` sizes).
   */
  calibrateModel: { request: { path: string }; response: ModelCalibration };
  /** The paper's experiments on the shipped zoo, ready to create. */
  listPresets: { request: Record<string, never>; response: ExperimentPreset[] };

  // Experiments and their runs.
  createExperiment: { request: { spec: ExperimentSpec }; response: ExperimentInfo };
  /** Replaces an experiment's spec (e.g. one more model); runs keep the spec they ran with. */
  updateExperiment: { request: { experimentId: string; spec: ExperimentSpec }; response: ExperimentInfo };
  listExperiments: { request: Record<string, never>; response: ExperimentInfo[] };
  getExperiment: { request: { experimentId: string }; response: ExperimentInfo };
  /** Deletes the experiment and all its runs (refused while one is queued or running). */
  deleteExperiment: { request: { experimentId: string }; response: { deletedRuns: number } };
  /**
   * When a run with the same inputs as `spec` finished whole — the same spec but for its name, the
   * same bytes in every file it reads (engine/experiments/run-inputs.ts) — records a run of a new
   * experiment of `spec` that takes that run's result, computing nothing; null otherwise (then
   * create the experiment and run it).
   */
  repeatRun: { request: { spec: ExperimentSpec }; response: RunDetails | null };
  /** Queues a run of the experiment's current spec; progress and state arrive as events. */
  runExperiment: { request: { experimentId: string; name?: string }; response: RunInfo };
  cancelRun: { request: { runId: string }; response: RunInfo };
  listRuns: { request: ListRunsRequest; response: RunInfo[] };
  /** A run with its result (partial ones included) and its last progress. */
  getRun: { request: { runId: string }; response: RunDetails };
  /** Renames a run; refused when another run has that name (names tell runs apart). */
  renameRun: { request: { runId: string; name: string }; response: RunInfo };
  /** Adds and removes tags of a run (a tag: 1–40 characters, no spaces or commas). */
  tagRun: { request: { runId: string; add?: string[]; remove?: string[] }; response: RunInfo };
  /** Sets a run's note ('' clears it). */
  setRunNote: { request: { runId: string; note: string }; response: RunInfo };
  deleteRun: { request: { runId: string }; response: { deleted: true } };
  /** A run's result as a file: the whole result (json) or one matrix (csv, npy, svg). */
  exportRun: { request: ExportRequest; response: ExportedFile };

  // One-off work outside the history (the command line's `extract` and `compare`). Long calls
  // report progress as `job` events and stop with cancelJob, by the jobId their request gave.
  /** Runs a model on a probe set and writes one float32 .npy per layer and a manifest into `out`. */
  extractActivations: { request: ExtractRequest; response: ExtractionSummary };
  /** Layer × layer similarity of two sides (models, extract folders, .npy files), kept in no history. */
  compareLayers: { request: CompareRequest; response: ComparisonResult };
  cancelJob: { request: { jobId: string }; response: { cancelled: boolean } };

  // The cache of activations and Grams.
  getCacheInfo: { request: Record<string, never>; response: CacheInfo };
  /** `bytes: null` goes back to the default limit (the smaller of 5 GiB and 10% of the disk's space). */
  setCacheLimit: { request: { bytes: number | null }; response: CacheInfo };
  /**
   * Removes every cache entry no running run uses, and forgets finished pairs and which runs had
   * which inputs (all is recomputed).
   */
  clearCache: { request: Record<string, never>; response: CacheInfo };
}

export type ApiMethodName = keyof ApiMethods;
export type ApiRequest<M extends ApiMethodName> = ApiMethods[M]['request'];
export type ApiResponse<M extends ApiMethodName> = ApiMethods[M]['response'];

/** Events pushed from the engine to every subscriber (progress of long work, run state changes). */
export type WorkbenchEvent =
  | { type: 'log'; level: 'info' | 'warn' | 'error'; message: string; /** The run it is about. */ runId?: string }
  | { type: 'run'; run: RunInfo }
  | { type: 'progress'; progress: RunProgress }
  | { type: 'job'; progress: JobProgress }
  /** A one-off job ended: its result (or error) is being returned, and what it wrote is written. */
  | { type: 'jobEnd'; jobId: string; outcome: 'done' | 'failed' | 'cancelled' };

export type Unsubscribe = () => void;

export type WorkbenchApi = {
  [M in ApiMethodName]: (request: ApiRequest<M>) => Promise<ApiResponse<M>>;
} & {
  /** Receive engine events until the returned function is called. */
  subscribe(listener: (event: WorkbenchEvent) => void): Unsubscribe;
};

/* ------------------------------------------------------------------------------------------------
 * Experiments — the data types the runner produces and the views consume.
 * --------------------------------------------------------------------------------------------- */

/**
 * CKA: `linear`, `rbf:T` (threshold T, e.g. `rbf:0.4`), `debiased`, `debiased-rbf:T`, `minibatch:B`
 * (batch size B). The paper's baselines: `cca`, `cca-r2`, `svcca:T` and `svcca-r2:T` (keeping a
 * fraction T of the variance, e.g. `svcca:0.99`), `pwcca`, `linreg`, and `procrustes`.
 */
export type MeasureSpec = string;

export type MeasureName =
  | 'linear'
  | 'rbf'
  | 'debiased'
  | 'minibatch'
  | 'cca'
  | 'cca-r2'
  | 'svcca'
  | 'svcca-r2'
  | 'pwcca'
  | 'linreg'
  | 'procrustes';

export interface MeasureInfo {
  name: MeasureName;
  /**
   * rbf: { threshold }; debiased: { rbfThreshold? }; minibatch: { batchSize, batches,
   * droppedExamples, shuffleSeed? }; svcca, svcca-r2: { keep }; the others none.
   */
  params: Record<string, number>;
}

export interface ModelRef {
  path: string;
  /**
   * The model file's sha256, or the model's (ModelSummary `sha256`, which covers side files too):
   * checked when the run starts; a mismatch is an error, never silently ignored.
   */
  sha256?: string;
  /** What the views call this model (defaults to the file name). */
  label?: string;
  /**
   * This model's own view of the examples (its size, layout, normalisation or tokenizer): a probe
   * spec that replaces the experiment's `probe` for this model. It must give as many examples, in
   * the same order; giving it declares the two probe sets views of the same examples.
   */
  probe?: string;
  /** Text probes: this model's tokenizer.json (or its folder); default: the one beside the model. */
  tokenizer?: string;
  /** The input that marks valid tokens (1) and padding (0); default `attention_mask` when the model has it. */
  maskInput?: string;
  /** This model's reductions (they win over the experiment's `reduce`). */
  reduce?: ReduceSpec;
}

/**
 * How a layer's activations become one row per example (or per token):
 * - `flatten`: every value, in the tensor's own layout (the default);
 * - `mean`: the mean over tokens (valid ones, by the attention mask) or over spatial positions
 *   (global average pooling, NCHW or NHWC by the graph);
 * - `first`: the first (valid) token, e.g. CLS; `last`: the last valid token (decoder LMs);
 * - `tokens`: every valid token is a row, so n is the number of valid tokens.
 */
export type Reduction = 'flatten' | 'mean' | 'first' | 'last' | 'tokens';

/** One reduction for every layer, or a default with exceptions by tensor or layer name. */
export type ReduceSpec = Reduction | { default?: Reduction; layers?: Record<string, Reduction> };

/** A selected layer that is not in the result, and why. */
export interface OmittedLayer {
  tensor: string;
  name: string;
  reason: string;
}

export type ExperimentKind = 'pair' | 'self' | 'seeds' | 'family';

export interface ExperimentOptions {
  /** Examples per forward pass (default: chosen from memory). */
  batchSize?: number;
  /** Percentile bootstrap intervals over examples, resampled with replacement. */
  bootstrap?: { samples: number; seed: number; level?: number };
  /** Worker threads for the CKA core (default: the machine's cores). */
  threads?: number;
  /** Exact-mode memory budget in MiB; beyond it the run stops and suggests minibatch mode. */
  memoryBudgetMiB?: number;
}

export interface ExperimentSpec {
  name: string;
  kind: ExperimentKind;
  /** pair: 2 models; self: 1; seeds: k ≥ 2 of one architecture; family: k ≥ 1 architectures. */
  models: ModelRef[];
  /** A probe spec: `fashion-mnist:N`, `npy:PATH`, `npz:PATH[:KEY]`, `images:DIR`, `random:N[:SEED]`. */
  probe: string;
  /** One layer selection for every model (`all`, `op:Relu`, `preset:blocks`, tensor names), or one per model. */
  layers: string | string[];
  measures: MeasureSpec[];
  /** How layers become rows (default `flatten`); a model's own `reduce` wins. */
  reduce?: ReduceSpec;
  options?: ExperimentOptions;
}

export interface LayerRef {
  tensor: string;
  name: string;
  /** How its activations became rows; left out: `flatten`. */
  reduction?: Reduction;
}

/** One axis of a similarity matrix: which model (or extract directory) and which of its layers. */
export interface MatrixSide {
  /** Index into ExperimentResult.models. */
  model: number;
  label: string;
  layers: LayerRef[];
}

export interface UndefinedCell {
  row: number;
  col: number;
  /** Why there is no number, e.g. "layer 'relu3' is constant over the probe set". */
  reason: string;
}

export interface SimilarityMatrix {
  measure: MeasureInfo;
  /** Examples the value is computed over. */
  n: number;
  rows: MatrixSide;
  cols: MatrixSide;
  /** rows × cols; null where undefined (see `undefined`). */
  matrix: (number | null)[][];
  undefined: UndefinedCell[];
  ci?: ConfidenceIntervals;
  /** How it was computed: CKA from Grams, feature cross-products (linear, few features) or per minibatch; the baselines from each layer's SVD. */
  form?: 'gram' | 'features' | 'minibatch' | 'factors';
  /** Milliseconds per stage of the computation (`grams`, `hsic`, `bootstrap`, `total`, …). */
  timingsMs?: Record<string, number>;
}

/**
 * Bootstrap intervals of a matrix's cells. `lo`/`hi` are the percentile interval of the resampled
 * values recentred on the estimate; one-off comparisons also carry the plain percentile interval,
 * the bias estimate and how resampling was done.
 */
export interface ConfidenceIntervals {
  lo: (number | null)[][];
  hi: (number | null)[][];
  level: number;
  samples: number;
  seed: number;
  method?: 'bias-corrected percentile bootstrap';
  /** Minibatch CKA resamples whole batches; the other measures resample examples. */
  resampled?: 'examples' | 'batches';
  percentile?: { lo: (number | null)[][]; hi: (number | null)[][] };
  /** mean(resampled) − estimate per cell. */
  bias?: (number | null)[][];
  /** Resamples per cell whose value was undefined and were left out. */
  skipped?: number[][];
}

/** Seeds experiments: over all ordered pairs of models, per measure. */
export interface SeedsSummary {
  measure: MeasureInfo;
  /** Mean and standard deviation over pairs, layer × layer (layers of model 0). */
  mean: (number | null)[][];
  std: (number | null)[][];
  /** Fraction of (layer, direction, pair) whose best match is the corresponding layer. */
  accuracy: number;
  accuracyPerPair: { rowModel: number; colModel: number; accuracy: number }[];
  /**
   * True for asymmetric measures (pwcca, linreg): the accuracy ranks m(Aᵢ, Bⱼ) + m(Bⱼ, Aᵢ), as the
   * paper does for Table 2 (`mean`/`std` are of m itself).
   */
  symmetrised?: boolean;
  /** Cells undefined in every pair, with a reason (e.g. p ≥ n for CCA). */
  undefined?: UndefinedCell[];
}

export interface ResultModel {
  path: string;
  sha256: string;
  label: string;
  layers: LayerRef[];
  /** The probe this model ran on (its own view, or the experiment's probe). */
  probe?: { spec: string; hash: string; n: number };
  /** Selected layers that are not in the matrices, with the reason. */
  omitted?: OmittedLayer[];
}

export interface ExperimentResult {
  spec: ExperimentSpec;
  models: ResultModel[];
  probe: { spec: string; hash: string; n: number };
  matrices: SimilarityMatrix[];
  seeds?: SeedsSummary[];
  /** True when the run stopped early: only finished pairs are present. */
  partial: boolean;
  provenance: {
    appVersion: string;
    onnxruntime: string;
    startedAt: string;
    finishedAt: string;
    timingsMs: Record<string, number>;
    /** Layers this run extracted / Grams it computed, and those it took from the cache. */
    work?: RunWork;
    /** The run whose whole result this run took (the same inputs: `repeatRun`); it computed nothing. */
    repeatOf?: string;
  };
}

export interface RunWork {
  activationsExtracted: number;
  activationsReused: number;
  gramsComputed: number;
  gramsReused: number;
  /** Layers whose CCA-family factors (a thin SVD) this run computed / took from the cache. */
  factorsComputed?: number;
  factorsReused?: number;
  /** Pairs of models compared by this run / read from earlier runs' results. */
  pairsComputed: number;
  pairsReused: number;
}

export type RunStatus = 'queued' | 'running' | 'done' | 'failed' | 'cancelled' | 'interrupted';

export interface RunInfo {
  id: string;
  experimentId: string;
  name: string;
  kind: ExperimentKind;
  status: RunStatus;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  /** Why the run failed, was cancelled or was interrupted. */
  error?: WorkbenchErrorData;
  /** Tags people gave it, sorted. */
  tags: string[];
  /** A note people wrote on it ('' for none). */
  note: string;
}

export type RunStage = 'prepare' | 'extract' | 'kernels' | 'similarity' | 'bootstrap' | 'save';

export interface RunProgress {
  runId: string;
  stage: RunStage;
  /** Human line: "extracting plain-d8-s0.onnx: batch 12/40". */
  message: string;
  /** Work done / total within the whole run, 0..1. */
  fraction: number;
  model?: string;
  examplesPerSecond?: number;
  etaSeconds?: number;
}

/* ------------------------------------------------------------------------------------------------
 * Library, experiments, runs, export and cache: the API's own request/response types.
 * --------------------------------------------------------------------------------------------- */

/**
 * A model of the library: one entry per file content (sha256), however often and from wherever
 * it was opened — the path it was last opened under, and the user's name for it.
 */
export interface ModelEntry {
  path: string;
  /** The user's file name (for an upload: the name of the file uploaded, not of the app's copy). */
  fileName: string;
  sha256: string;
  sizeBytes: number;
  /** `opened`: by the user (dialog, drop, path, upload); `zoo`: shipped with the app. */
  origin: 'opened' | 'zoo';
  /** How it came: opened from a path on this machine, uploaded through the browser, or shipped. */
  source: 'path' | 'upload' | 'zoo';
  /** Where it came from, for people: the folder it was opened from, "uploaded", "shipped with the app". */
  from: string;
  /** ISO time it was last opened; null for zoo models never opened. */
  openedAt: string | null;
  /** False when the file is gone (or changed size) since it was opened. */
  available: boolean;
}

export interface ProbeSetEntry {
  /** A spec to put in an experiment (`fashion-mnist:1000`, `npy:/data/x.npy`, …). */
  spec: string;
  kind: 'fashion-mnist' | 'random' | 'npy' | 'npz' | 'images' | 'text';
  label: string;
  description: string;
  builtIn: boolean;
  /** Built-in sets: the largest N (`fashion-mnist`). */
  maxN?: number;
  /** Opened sets: examples and content hash when opened. */
  n?: number;
  hash?: string;
  openedAt?: string;
}

export interface OpenProbeRequest {
  spec: string;
  /** The model whose inputs the probe must feed. */
  model?: string;
  /** Text probes: a tokenizer.json (or its folder); default: the one beside the model. */
  tokenizer?: string;
  /** The input that marks valid tokens (default `attention_mask`). */
  maskInput?: string;
}

export interface ProbeInput {
  name: string;
  dtype: DType;
  /** One example's shape; `null` for a sequence axis padded per batch. */
  shape: (number | null)[];
}

export interface ProbeInfo {
  /** Canonical spec: absolute paths, options resolved. */
  spec: string;
  kind: ProbeSetEntry['kind'];
  n: number;
  /** One example's shape as fed to the model (its first input's). */
  exampleShape: number[];
  /** Every input the probe feeds (models with several inputs, token inputs). */
  inputs?: ProbeInput[];
  /** Text probes: the tokenizer used and the longest example in tokens. */
  tokenizer?: { path: string; maxLength: number | null; longest: number };
  /** sha256 over the spec and every data file it reads. */
  hash: string;
  notes: string[];
}

export interface ExperimentPreset {
  id: 'seeds-sanity' | 'seeds-baselines' | 'depth-family' | 'vit-vs-cnn';
  title: string;
  description: string;
  spec: ExperimentSpec;
  /** False when some of its zoo models are not installed (see `missing`). */
  available: boolean;
  missing: string[];
}

export interface ExperimentInfo {
  id: string;
  name: string;
  kind: ExperimentKind;
  spec: ExperimentSpec;
  createdAt: string;
  updatedAt: string;
  runs: number;
  lastRun: RunInfo | null;
}

export interface ListRunsRequest {
  experimentId?: string;
  status?: RunStatus[];
  /**
   * Words that must all match (case-insensitive, anywhere): the run's name, kind, models (file
   * names and labels), measures, probe, tags or note. `tag:T`, `model:M`, `measure:M`, `name:N`
   * match only that field (a tag exactly).
   */
  search?: string;
  /** Runs whose id starts with this (with or without the `run-`): ids by a unique prefix. */
  idPrefix?: string;
  /** Newest first; default 200. */
  limit?: number;
}

export interface RunDetails {
  run: RunInfo;
  /** Null when the run stopped before it knew its models (or is still preparing). */
  result: ExperimentResult | null;
  /** The last progress report of a queued or running run. */
  progress: RunProgress | null;
}

export type ExportFormat = 'json' | 'csv' | 'npy' | 'svg';

export interface ExportRequest {
  runId: string;
  format: ExportFormat;
  /** csv/npy/svg: which matrix (index into result.matrices); default 0. */
  matrix?: number;
  /** csv/npy/svg of a seeds run: the summary of one measure instead of a matrix. */
  seeds?: { measure: number; statistic: 'mean' | 'std' };
  /**
   * One ordered pair of the result's models (0-based, in the run's order): rows model `rows`,
   * columns model `cols`, for the result's `measure`-th measure (default 0). A pair stored the
   * other way round is transposed. json then holds that pair's matrix rather than the whole result.
   */
  pair?: { rows: number; cols: number; measure?: number };
  /** svg: how the figure is drawn (the page's figure exports take the same options). */
  figure?: FigureOptions;
  /** Also write the file into the app's exports folder (its path is returned). */
  save?: boolean;
}

/** How a heatmap figure is drawn: the page's "Figure" exports and `runs export --format svg` alike. */
export interface FigureOptions {
  /** Default viridis; blue-red (diverging) is for differences. */
  colormap?: 'viridis' | 'magma' | 'blue-red';
  /** The values of the colour bar's ends: [0, 1] (`unit`, the default), the figure's own range (`data`), or [lo, hi]. */
  range?: 'unit' | 'data' | [number, number];
  /** Mark each row's highest value (similarities only; never on a standard deviation). */
  bestMatch?: boolean;
  /** Layer names on the axes (default), or their positions 1, 2, … */
  axisLabels?: 'names' | 'indices';
  /** Row 0 at the top (default, as a matrix prints) or at the bottom (as a plot's y axis). */
  origin?: 'top' | 'bottom';
  /** Square cells (default), or a square plot whose cells stretch. */
  squareCells?: boolean;
  /** Px of the labels and axis titles, 6–32 (default 11). */
  fontSize?: number;
  /** The figure's width in px, 160–4000 (default: what its cells need). */
  width?: number;
}

export interface ExportedFile {
  fileName: string;
  mediaType: string;
  /** `base64` for binary formats (npy). */
  encoding: 'utf8' | 'base64';
  data: string;
  bytes: number;
  savedTo?: string;
}

export interface CacheKindUse {
  entries: number;
  bytes: number;
}

/** What one model's activations, Grams and factors take in the cache. */
export interface CacheModelUse {
  modelSha256: string;
  /** The file name it was last opened under (absent when the library never opened it). */
  name?: string;
  bytes: number;
  entries: number;
}

export interface CacheInfo {
  /** The data directory the cache lives in (activations/ and grams/ under it). */
  dir: string;
  bytes: number;
  limitBytes: number;
  /** False while the limit is the default (the smaller of 5 GiB and a tenth of the disk's space). */
  limitIsSet: boolean;
  entries: number;
  /** Activations (float32 .npy), Grams (packed; float32 when computed in float32) and CCA-family factors. */
  byKind: { activation: CacheKindUse; gram: CacheKindUse; factors: CacheKindUse };
  /** Largest first. */
  byModel: CacheModelUse[];
  activations: CacheKindUse;
  /** Grams and factors together (both live in grams/). */
  grams: CacheKindUse;
  /** Entries running work is using (never evicted). */
  pinned: number;
}

/* ------------------------------------------------------------------------------------------------
 * One-off extraction and comparison (outside the history).
 * --------------------------------------------------------------------------------------------- */

/** How a folder of images is turned into model inputs (by default: from the model's input). */
export interface ImageProbeOptions {
  /** [height, width] to resize and centre-crop to. */
  size?: [number, number];
  mode?: 'gray' | 'rgb';
  layout?: 'nchw' | 'nhwc';
  /** Per channel, on pixels scaled to [0, 1]; `imagenet` is ImageNet's mean (std). */
  mean?: number[] | 'imagenet';
  std?: number[] | 'imagenet';
}

export interface ExtractRequest {
  model: string;
  /** A probe spec (see ExperimentSpec.probe). */
  probe: string;
  /** A layer selection (default: `preset:blocks`). */
  layers?: string;
  /** The folder to write manifest.json and the .npy files into. */
  out: string;
  batchSize?: number;
  /** `exact`: no graph optimisations (outputs bit-identical to the untouched model). */
  optimization?: 'fast' | 'exact';
  image?: ImageProbeOptions;
  /** NaN/±Inf activations: fail (default) or report them. */
  nonFinite?: 'error' | 'report';
  /** How layers become rows (default `flatten`). */
  reduce?: ReduceSpec;
  /** Text probes: a tokenizer.json (or its folder); default: the one beside the model. */
  tokenizer?: string;
  /** The input that marks valid tokens (default `attention_mask`). */
  maskInput?: string;
  /** Names the call for progress events and cancelJob. */
  jobId?: string;
}

/** One extracted layer: its id, its short name, and one example's shape. */
export interface ExtractedLayer {
  tensor: string;
  name: string;
  op: string;
  /** One example's shape (the batch axis removed). */
  shape: number[];
  /** Values per example: the product of `shape`. */
  features: number;
  /** Element type onnxruntime produced; rows are always written as float32. */
  dtype: string;
  /** How the activations became rows (left out: `flatten`). */
  reduction?: Reduction;
  /** Rows written: the examples, or the valid tokens for `tokens`. */
  rows?: number;
}

export interface NonFiniteCount {
  nan: number;
  inf: number;
  /** Probe index of the first example with a NaN or ±Inf. */
  firstExample: number;
}

export interface ExtractionSummary {
  model: { path: string; sha256: string };
  probe: { spec: string; hash: string; n: number };
  layers: ExtractedLayer[];
  /** Layers with NaN or ±Inf values (only with `nonFinite: 'report'`; otherwise that is an error). */
  nonFinite: Record<string, NonFiniteCount>;
  batchSize: number;
  batches: number;
  seconds: number;
  examplesPerSecond: number;
  /** Things a person should know: skipped files, layers left out because they do not split per example. */
  notes: string[];
  /** Selected layers that were not extracted, with the reason. */
  omitted?: OmittedLayer[];
}

export interface CompareRequest {
  /** An ONNX model, a folder written by extract, a folder of .npy files or one .npy file [examples, features]. */
  a: string;
  /** The other side; left out: A against itself. */
  b?: string;
  /** The probe set models run on; folders must have been extracted with it. */
  probe?: string;
  /**
   * B's own view of the same examples (B's size, layout, normalisation or tokenizer); giving it
   * declares the two probe sets views of the same examples. Example counts must match.
   */
  probeB?: string;
  /** Text probes: A's tokenizer (and B's unless `tokenizerB`); default: the one beside each model. */
  tokenizer?: string;
  tokenizerB?: string;
  /** The input that marks valid tokens (default `attention_mask`). */
  maskInput?: string;
  /** How layers become rows (default `flatten`). */
  reduce?: ReduceSpec;
  /** `all`, `op:Relu,Conv`, tensor or layer names; for models also `preset:…` (default `preset:blocks`). */
  layers?: string;
  /** B's own layer selection (default: `layers`): two architectures rarely share layer names. */
  layersB?: string;
  measures: MeasureSpec[];
  bootstrap?: { samples: number; seed: number; level?: number };
  /** Worker threads of the CKA core (default: the machine's cores). */
  threads?: number;
  /** Gram precision: `auto` follows the activations' type. */
  precision?: 'auto' | 'float32' | 'float64';
  memoryBudgetMiB?: number;
  jobId?: string;
}

/** Where one side of a comparison came from. */
export interface ComparedSide {
  /** The model, folder or file given (absolute). */
  path: string;
  kind: 'model' | 'extract' | 'npy-folder' | 'npy-file';
  label: string;
  /** The model the activations came from (models and extract folders). */
  model?: { path: string; sha256: string };
  probe?: { spec: string; hash: string; n: number };
  layers: LayerRef[];
  /** Selected layers that are not in the matrices, with the reason. */
  omitted?: OmittedLayer[];
}

export interface ComparisonResult {
  /** Rows' side, then columns' side (one side when A is compared with itself). */
  sides: ComparedSide[];
  /** One per measure, in the request's order; `rows.model`/`cols.model` index `sides`. */
  matrices: SimilarityMatrix[];
  /** What the user should know that did not stop the compare (a large write to the cache). */
  notes?: string[];
  provenance: {
    appVersion: string;
    onnxruntime: string;
    startedAt: string;
    finishedAt: string;
    timingsMs: Record<string, number>;
  };
}

/** Progress of an extractActivations or compareLayers call. */
export interface JobProgress {
  jobId: string;
  stage: 'extract' | 'load' | 'grams' | 'kernels' | 'hsic' | 'bootstrap' | 'minibatch' | 'factors' | 'baselines';
  done: number;
  total: number;
  /** Human line: "extract: batch 3/20, 300/2000 examples". */
  message: string;
  examplesPerSecond?: number;
}
