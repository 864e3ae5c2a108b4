/**
 * The child's side of the runner: onnxruntime sessions by id, opened from a model file plus the
 * tensors to expose, run on wire tensors, closed on request. Runs only inside the runner process.
 */
import { createHash } from 'node:crypto';
import { constants as fsConstants, promises as fs } from 'node:fs';
import { dirname } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { Dim } from '../../common/contract.js';
import { WorkbenchError, firstLine } from '../../common/errors.js';
import { FILE_SIZE_LIMITS, openRegularFile, readOpenedFile } from '../io/regular-file.js';
import { withExtraOutputs } from '../onnx/surgery.js';
import { GramCarry } from './batch-grams.js';
import { RowFiles } from './row-files.js';
import {
  SPILL_ALIGNMENT,
  type FileRunReply,
  type GramBatch,
  type GramRunReply,
  type LayerGrams,
  SPILL_MIN_BYTES,
  type OpenReply,
  type RunReply,
  type RunnerRequest,
  type SpilledRunReply,
  type ValueMeta,
  type WireTensor,
} from './protocol.js';
import { reduceOutput } from './reduce.js';
import { sessionOptions } from './session-options.js';

type OpenRequest = Extract<RunnerRequest, { type: 'open' }>;
type RunRequest = Extract<RunnerRequest, { type: 'run' }>;

interface OpenSession {
  session: ort.InferenceSession;
  path: string;
  /**
   * The last run's output tensors, handed back to onnxruntime as pre-allocated outputs when the
   * next run has the same feeds' shapes and fetch list: no fresh multi-MB buffers (page faults,
   * zeroing) per batch. Safe because a reply is fully written (spill file) or serialised (channel)
   * before the next request is handled.
   */
  reusable: { signature: string; outputs: Record<string, ort.Tensor> } | null;
  /** Minibatch rows carried between runs in Gram mode (./batch-grams.ts). */
  grams: GramCarry | null;
  /** Files this session writes rows into (./row-files.ts). */
  files: RowFiles | null;
}

/** ORT's own messages start with `[ONNXRuntimeError] : 1 : FAIL : ` or similar: keep the reason. */
export function ortReason(err: unknown): string {
  const text = firstLine(err instanceof Error ? err.message : String(err));
  return text.replace(/^\[ONNXRuntimeError\]\s*:\s*\d+\s*:\s*[A-Z_]+\s*:\s*/, '') || 'unknown onnxruntime error';
}

function toValueMeta(meta: ort.InferenceSession.ValueMetadata): ValueMeta {
  if (!meta.isTensor) return { name: meta.name, isTensor: false };
  const shape: Dim[] = meta.shape.map((d) =>
    typeof d === 'number' && d >= 0 ? d : typeof d === 'string' && d !== '' ? d : null,
  );
  return { name: meta.name, isTensor: true, type: meta.type, shape };
}

/** The first offset at or after `offset` where a spilled tensor may start (SPILL_ALIGNMENT). */
function alignedOffset(offset: number): number {
  return offset + ((SPILL_ALIGNMENT - (offset % SPILL_ALIGNMENT)) % SPILL_ALIGNMENT);
}

/**
 * Writes the outputs, each at an aligned offset, into `file` (see SpilledRunReply). The file is
 * not truncated: rewriting pages it already has is cheaper than allocating new ones.
 */
export async function spill(outputs: WireTensor[], file: string, start = 0): Promise<SpilledRunReply> {
  const placed: SpilledRunReply['outputs'] = [];
  const handle = await fs.open(file, fsConstants.O_WRONLY | fsConstants.O_CREAT, 0o600);
  let offset = 0;
  try {
    for (const t of outputs) {
      offset = alignedOffset(offset);
      const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
      for (let done = 0; done < bytes.length;) {
        done += (await handle.write(bytes, done, bytes.length - done, start + offset + done)).bytesWritten;
      }
      placed.push({ name: t.name, type: t.type, dims: t.dims, byteOffset: offset, byteLength: bytes.length });
      offset += bytes.length;
    }
  } finally {
    await handle.close();
  }
  return { file, ...(start > 0 ? { start } : {}), byteLength: offset, outputs: placed };
}

/**
 * A Gram reply whose Grams are large goes through the spill file too, after the rows (see
 * GramRunReply.spilledGrams): each packed Gram becomes a tensor of its own type there and an empty
 * array here.
 */
export async function gramReply(
  grams: (LayerGrams | null)[],
  rows: RunReply | SpilledRunReply,
  spillFile: string | undefined,
): Promise<GramRunReply> {
  const batches = grams.flatMap((g) => g?.grams ?? []);
  const bytes = batches.reduce((sum, g) => sum + g.packed.byteLength, 0);
  if (!spillFile || bytes < SPILL_MIN_BYTES) return { grams, rows };
  const start = alignedOffset('file' in rows ? rows.byteLength : 0);
  const tensors = batches.map((g, i) => ({
    name: `gram ${i}`,
    type: g.packed instanceof Float32Array ? 'float32' : 'float64',
    dims: [g.packed.length],
    data: g.packed,
  }));
  const spilledGrams = await spill(tensors, spillFile, start);
  // New empty arrays, not views: a view would carry its whole buffer through the IPC channel.
  const empty = (b: GramBatch) => (b.packed instanceof Float32Array ? new Float32Array(0) : new Float64Array(0));
  return {
    grams: grams.map((g) => g && { ...g, grams: g.grams.map((b) => ({ ...b, packed: empty(b) })) }),
    rows,
    spilledGrams,
  };
}

export class SessionHost {
  private readonly sessions = new Map<number, OpenSession>();
  private nextId = 1;

  async open(request: OpenRequest): Promise<OpenReply> {
    const { path, sha256 } = request.model;
    const hash = createHash('sha256');
    const file = await openRegularFile(path, { what: 'model', maxBytes: FILE_SIZE_LIMITS.model });
    let bytes: Uint8Array;
    try {
      bytes = await readOpenedFile(file, (chunk) => hash.update(chunk));
    } finally {
      await file.close();
    }
    const actual = hash.digest('hex');
    if (actual !== sha256) {
      throw new WorkbenchError('BAD_MODEL', `${path}: the file changed on disk while it was being opened`);
    }
    const model = request.extraOutputs.length > 0 ? withExtraOutputs(bytes, request.extraOutputs) : bytes;
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(model, sessionOptions(request.config, dirname(path)));
    } catch (err) {
      throw new WorkbenchError('RUNTIME', `${path}: onnxruntime cannot load the model: ${ortReason(err)}`);
    }
    const id = this.nextId++;
    this.sessions.set(id, { session, path, reusable: null, grams: null, files: null });
    return {
      session: id,
      inputs: session.inputMetadata.map(toValueMeta),
      outputs: session.outputMetadata.map(toValueMeta),
    };
  }

  async run(request: RunRequest): Promise<RunReply | SpilledRunReply | GramRunReply | FileRunReply> {
    const open = this.sessions.get(request.session);
    if (!open) throw new WorkbenchError('INTERNAL', `runner: no open session ${request.session}`);
    const feeds: Record<string, ort.Tensor> = {};
    for (const t of request.feeds) {
      feeds[t.name] = new ort.Tensor(t.type as 'float32', t.data as Float32Array, t.dims);
    }
    const signature = JSON.stringify([request.feeds.map((t) => t.dims), request.fetch]);
    // Rows going to files are written from after this run (row-files.ts): they need buffers of
    // their own, so a run with files neither takes nor leaves reusable outputs.
    const preallocated = open.reusable?.signature === signature && !request.files ? open.reusable.outputs : null;
    open.reusable = null;
    if (request.grams) {
      const { batchSize, precision, restart, threads } = request.grams;
      if (restart || !open.grams) open.grams = new GramCarry(batchSize, precision, threads);
      if (open.grams.batchSize !== batchSize) {
        throw new WorkbenchError(
          'INTERNAL',
          `runner: Gram batches of ${batchSize} asked in a stream of ${open.grams.batchSize}`,
        );
      }
    }
    // Layers whose rows onnxruntime writes straight into the Gram carry's buffer (no copy, no
    // buffer of their own): never handed out again as reusable outputs.
    const outputTypes = new Map(open.session.outputMetadata.map((m) => [m.name, m.isTensor ? m.type : null]));
    const direct = request.grams
      ? open.grams!.directTargets(
          request.grams,
          request.fetch.map((name, i) => outputTypes.get(name) === 'float32' && !request.reduce?.layers[i]),
        )
      : request.fetch.map(() => null);
    const fetches: Record<string, ort.Tensor | null> = {};
    request.fetch.forEach((name, i) => {
      const target = direct[i];
      fetches[name] = target
        ? new ort.Tensor('float32', target, request.grams!.layers[i]!.dims)
        : (preallocated?.[name] ?? null);
    });
    let results: ort.InferenceSession.ReturnType;
    try {
      results = await open.session.run(feeds, fetches);
    } catch (err) {
      throw new WorkbenchError(
        'RUNTIME',
        `${open.path}: onnxruntime failed while running the model: ${ortReason(err)}`,
      );
    }
    const tensors = request.fetch.map((name) => (fetches[name] ?? results[name]) as ort.Tensor);
    const reduce = request.reduce;
    const outputs: WireTensor[] = tensors.map((tensor, i) => {
      const raw: WireTensor = {
        name: request.fetch[i]!,
        type: tensor.type,
        dims: [...tensor.dims],
        data: tensor.data as WireTensor['data'],
      };
      const plan = reduce?.layers[i];
      return plan && reduce ? reduceOutput(raw, plan, reduce) : raw;
    });
    if (!request.files && tensors.every((t) => t.type !== 'string')) {
      open.reusable = {
        signature,
        outputs: Object.fromEntries(request.fetch.flatMap((name, i) => (direct[i] ? [] : [[name, tensors[i]!]]))),
      };
    }
    if (request.grams && open.grams) {
      const grams = await open.grams.add(outputs, request.grams);
      const rows = outputs.filter((_, i) => grams[i] === null);
      return gramReply(grams, await this.reply(rows, request.spillFile), request.spillFile);
    }
    if (request.files) {
      open.files ??= new RowFiles();
      const written = await open.files.add(outputs, request.files);
      const rows = outputs.filter((_, i) => written[i] === null);
      return { written, rows: await this.reply(rows, request.spillFile) };
    }
    return this.reply(outputs, request.spillFile);
  }

  /** Outputs as a reply: through the channel, or in the spill file when large. */
  private async reply(outputs: WireTensor[], spillFile: string | undefined): Promise<RunReply | SpilledRunReply> {
    const bytes = outputs.reduce((sum, t) => sum + t.data.byteLength, 0);
    if (spillFile && bytes >= SPILL_MIN_BYTES) return spill(outputs, spillFile);
    return { outputs };
  }

  async close(session: number): Promise<void> {
    const open = this.sessions.get(session);
    this.sessions.delete(session);
    await open?.files?.close();
    await open?.session.release();
  }
}
