/**
 * Messages between the engine (host) and the model-runner process (child) that owns the
 * onnxruntime sessions. Every value is structured-clone friendly: typed arrays cross as typed
 * arrays (Node `fork` with `serialization: 'advanced'`, or an Electron utilityProcess port).
 *
 *   host → child   { id, type: 'open' | 'run' | 'close' | 'debug', ... }
 *   child → host   { type: 'ready', pid }                    once, when the child is listening
 *                  { id, ok: true, value } | { id, ok: false, error: WorkbenchErrorData }
 *
 * One request at a time per child: onnxruntime blocks the child's thread while it works, so the
 * host keeps the order and the timeouts (see ./runner-process.ts).
 */
import type { Dim, WorkbenchErrorData } from '../../common/contract.js';
import type { NonFiniteCount } from '../cka/non-finite.js';
import type { PackedArray } from '../cka/packed.js';
import type { NonFiniteValue } from '../cka/types.js';

/** ORT graph optimisation: `fast` = level `all`; `exact` = no graph rewrites at all (see session-options.ts). */
export type OptimizationMode = 'fast' | 'exact';

export interface SessionConfig {
  optimization: OptimizationMode;
  /** onnxruntime intra-op threads of this session (spinning is always off). */
  intraOpThreads: number;
}

export interface ModelSource {
  /** Absolute path: the child reads the file itself (no copy of a large model through the pipe). */
  path: string;
  /**
   * The model file's own sha256 as the host read it (onnx/catalogue.ts `fileSha256`): a mismatch
   * means the file changed in between.
   */
  sha256: string;
}

export type WireTensorData =
  | Float32Array
  | Float64Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Int16Array
  | Int8Array
  | BigInt64Array
  | BigUint64Array
  | Uint8Array;

export interface WireTensor {
  name: string;
  /** onnxruntime's type name: 'float32', 'float16', 'int64', … */
  type: string;
  dims: number[];
  data: WireTensorData;
}

export interface ValueMeta {
  name: string;
  isTensor: boolean;
  /** Element type for tensors ('float32', …); undefined for sequences and maps. */
  type?: string;
  /** null entries: dimensions onnxruntime could not infer. */
  shape?: Dim[];
}

/**
 * How one fetched layer becomes rows in the runner (./reduce.ts), so that only rows cross the
 * process boundary.
 */
export interface RunLayerPlan {
  /** The first axis is examples × k: regroup to [examples, k, …] (`example`: example i owns rows ik…ik+k−1; `head`: row h·B + i). */
  group?: { k: number; order: 'example' | 'head' };
  /** The examples are on this axis (≥ 1) instead of the first: an example is the tensor without it. */
  batchAxis?: number;
  /** Axes of one example's (regrouped) tensor that follow the token length: masked, and padded to `padTo`. */
  seqAxes: number[];
  padTo: number;
  reduce:
    | { kind: 'all' }
    | { kind: 'spatial-mean'; channelAxis: number }
    | { kind: 'token'; axis: number; pick: 'mean' | 'first' | 'last' | 'each' };
}

export interface RunReduceRequest {
  /** One per fetched tensor; null: the tensor comes back as it is. */
  layers: (RunLayerPlan | null)[];
  /** Examples of the batch (rows past them pad a fixed-size batch and are dropped). */
  examples: number;
  /** Token probes: valid positions [rows, length] (1 = token, 0 = padding). */
  mask: Uint8Array | null;
  length: number | null;
}

/**
 * Grams computed in the runner (./batch-grams.ts): each chosen layer's rows are cut into batches
 * of `batchSize` in probe order, carried over from one run to the next, and only the centred Gram
 * of each full batch comes back (minibatches; or one batch of every example, for an exact Gram).
 */
export interface RunGramsRequest {
  batchSize: number;
  /** The Grams' arithmetic ('auto': the rows' own, float32). */
  precision: 'float32' | 'float64' | 'auto';
  /** The first run of a stream: rows carried from an earlier one are dropped. */
  restart: boolean;
  /**
   * onnxruntime threads for each Gram (default 1, as the CKA workers' batch tasks). More when the
   * host waits for one layer's exact Gram with its cores idle (an experiment runs one model at a time).
   */
  threads?: number;
  /** One per fetched tensor; null: that layer's rows come back as they are (GramRunReply.rows). */
  layers: (GramLayerSpec | null)[];
}

export interface GramLayerSpec {
  /** The dims the output must have; another shape or a non-float type yields no rows (the host says why). */
  dims: number[];
  /** Rows this run gives (the first rows · features values: padding rows of a fixed batch follow). */
  rows: number;
  features: number;
  /** Where these rows start in the probe: the runner checks the order, and counts non-finite values from it. */
  rowOffset: number;
}

/** One batch of b rows of a layer, as its centred Gram (compute/gram.ts). */
export interface GramBatch {
  /** Packed upper triangle, b(b+1)/2 values: float32 for a float32 product (cka/packed.ts), else float64. */
  packed: PackedArray;
  constant: boolean;
  /** The batch's first NaN/±Inf (example index within the batch), if any. */
  nonFinite: NonFiniteValue | null;
}

/** What one run gave of one layer in Gram mode. */
export interface LayerGrams {
  type: string;
  dims: number[];
  /** Rows taken in (0 when the output did not have the dims asked for). */
  rows: number;
  /** NaN/±Inf among this run's rows (probe indices). */
  nonFinite: NonFiniteCount | null;
  /** Batches this run completed, in order. */
  grams: GramBatch[];
}

export interface GramRunReply {
  /** One per fetched tensor; null where the rows came back instead. */
  grams: (LayerGrams | null)[];
  /** The outputs of the layers without a Gram spec, in order (spilled when large). */
  rows: RunReply | SpilledRunReply;
  /**
   * When the Grams are large (an exact Gram of n rows is n(n+1)/2 values: 16 MB in float64 at
   * n = 2000, which the IPC pipe took ~0.2 s to move, 8 MB in float32), their values are in the
   * spill file after the rows, one tensor of the Gram's own type per GramBatch in order, and each
   * `packed` above is empty.
   */
  spilledGrams?: SpilledRunReply;
}

/**
 * Rows the runner writes itself (./row-files.ts) into `.npy` files the host created, instead of
 * sending them back: one spec per fetched tensor, null for the layers whose rows come back.
 */
export interface RunFilesRequest {
  layers: (RowFileSpec | null)[];
}

export interface RowFileSpec {
  /** The file to write (the host's temporary sibling of `target`); it must exist. */
  file: string;
  /** The file it becomes, for messages. */
  target: string;
  /** The dims the output must have; another shape or a non-float type writes nothing (the host says why). */
  dims: number[];
  /** Rows this run gives (the first rows · features values: padding rows of a fixed batch follow). */
  rows: number;
  features: number;
  /** Where these rows start in the file's rows: they arrive in order. */
  rowOffset: number;
  /** The file's rows: with the last of them it is completed and closed before the reply. */
  totalRows: number;
}

/** What one run wrote of one layer. */
export interface LayerWritten {
  type: string;
  dims: number[];
  /** Rows written (0 when the output did not have the dims asked for). */
  rows: number;
  /** NaN/±Inf among them (probe indices). */
  nonFinite: NonFiniteCount | null;
}

export interface FileRunReply {
  /** One per fetched tensor; null where the rows came back instead. */
  written: (LayerWritten | null)[];
  /** The outputs of the layers without a file, in order (spilled when large). */
  rows: RunReply | SpilledRunReply;
}

export type RunnerRequest =
  | { id: number; type: 'open'; model: ModelSource; extraOutputs: string[]; config: SessionConfig }
  | {
      id: number;
      type: 'run';
      session: number;
      feeds: WireTensor[];
      fetch: string[];
      /** A file for a large reply (see SpilledRunReply); without it every reply goes through the channel. */
      spillFile?: string;
      /** Reduce these outputs to rows before replying. */
      reduce?: RunReduceRequest;
      /** Reply with minibatch Grams of the rows instead of the rows. */
      grams?: RunGramsRequest;
      /** Write these layers' rows into files instead of replying with them (not with `grams`). */
      files?: RunFilesRequest;
    }
  | { id: number; type: 'close'; session: number }
  /** Test hooks, honoured only when the child runs with CKA_RUNNER_TEST_HOOKS=1. */
  | { id: number; type: 'debug'; action: 'abort' | 'hang' | 'exit' };

export interface OpenReply {
  session: number;
  inputs: ValueMeta[];
  outputs: ValueMeta[];
}

export interface RunReply {
  outputs: WireTensor[];
}

/** Where one output lies in a spill file. */
export interface SpilledTensor {
  name: string;
  type: string;
  dims: number[];
  byteOffset: number;
  byteLength: number;
}

/**
 * A large reply (≥ SPILL_MIN_BYTES) written to the request's `spillFile` — on Linux in a tmpfs
 * (/dev/shm), so it never touches a disk — instead of going through the channel: Node's IPC pipe
 * moves a few hundred MB/s, a file in memory several GB/s. The host owns a few such files per
 * session and reuses them (their pages stay allocated), reading `byteLength` bytes back.
 */
export interface SpilledRunReply {
  file: string;
  /** Where the reply's bytes start in the file (default 0); its tensors' byteOffsets count from here. */
  start?: number;
  byteLength: number;
  outputs: SpilledTensor[];
}

export const SPILL_MIN_BYTES = 1 << 20;
/** Tensor data in a spill file starts at multiples of this, so typed arrays can view it in place. */
export const SPILL_ALIGNMENT = 8;

export type RunnerReply =
  { id: number; ok: true; value: unknown } | { id: number; ok: false; error: WorkbenchErrorData };

export interface ReadyMessage {
  type: 'ready';
  pid: number;
}

export const TEST_HOOKS_ENV = 'CKA_RUNNER_TEST_HOOKS';

export function isRunnerReply(message: unknown): message is RunnerReply {
  return typeof message === 'object' && message !== null && typeof (message as { id?: unknown }).id === 'number';
}

export function isReadyMessage(message: unknown): message is ReadyMessage {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === 'ready';
}
