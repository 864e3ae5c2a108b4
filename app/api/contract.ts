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
}

export interface OpsetInfo {
  domain: string;
  version: number;
}

export interface ModelSummary {
  path: string;
  fileName: string;
  sizeBytes: number;
  sha256: string;
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
  inspectModel: { request: InspectModelRequest; response: ModelSummary };
}

export type ApiMethodName = keyof ApiMethods;
export type ApiRequest<M extends ApiMethodName> = ApiMethods[M]['request'];
export type ApiResponse<M extends ApiMethodName> = ApiMethods[M]['response'];

/** Events pushed from the engine to every subscriber (progress of long work, run state changes). */
export type WorkbenchEvent = { type: 'log'; level: 'info' | 'warn' | 'error'; message: string };

export type Unsubscribe = () => void;

export type WorkbenchApi = {
  [M in ApiMethodName]: (request: ApiRequest<M>) => Promise<ApiResponse<M>>;
} & {
  /** Receive engine events until the returned function is called. */
  subscribe(listener: (event: WorkbenchEvent) => void): Unsubscribe;
};

/**
 * What the Electron preload exposes as `window.workbench` (the browser transport offers the same
 * shape over HTTP). Only JSON crosses it.
 */
export interface WorkbenchBridge {
  readonly kind: 'electron';
  invoke(method: string, request: unknown): Promise<ApiEnvelope<unknown>>;
  subscribe(listener: (event: WorkbenchEvent | ShellEvent) => void): Unsubscribe;
  /** The file-system path of a dropped or picked File (Electron's webUtils). */
  pathForFile(file: object): string;
  /** The native "open model" dialog; resolves to the chosen paths (empty when cancelled). */
  chooseModelFiles(): Promise<string[]>;
}

/** Events from the desktop shell itself: menu commands, files opened from the OS. */
export type ShellEvent = { type: 'shell:open-model'; path: string } | { type: 'shell:menu'; command: 'export' };
