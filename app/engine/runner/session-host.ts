/**
 * The child's side of the runner: onnxruntime sessions by id, opened from a model file plus the
 * tensors to expose, run on wire tensors, closed on request. Runs only inside the runner process.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { dirname } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { Dim } from '../../api/contract.js';
import { WorkbenchError, firstLine } from '../../api/errors.js';
import { withExtraOutputs } from '../onnx/surgery.js';
import type { OpenReply, RunReply, RunnerRequest, ValueMeta, WireTensor } from './protocol.js';
import { sessionOptions } from './session-options.js';

type OpenRequest = Extract<RunnerRequest, { type: 'open' }>;
type RunRequest = Extract<RunnerRequest, { type: 'run' }>;

interface OpenSession {
  session: ort.InferenceSession;
  path: string;
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

export class SessionHost {
  private readonly sessions = new Map<number, OpenSession>();
  private nextId = 1;

  async open(request: OpenRequest): Promise<OpenReply> {
    const { path, sha256 } = request.model;
    const bytes = await fs.readFile(path);
    const actual = createHash('sha256').update(bytes).digest('hex');
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
    this.sessions.set(id, { session, path });
    return {
      session: id,
      inputs: session.inputMetadata.map(toValueMeta),
      outputs: session.outputMetadata.map(toValueMeta),
    };
  }

  async run(request: RunRequest): Promise<RunReply> {
    const open = this.sessions.get(request.session);
    if (!open) throw new WorkbenchError('INTERNAL', `runner: no open session ${request.session}`);
    const feeds: Record<string, ort.Tensor> = {};
    for (const t of request.feeds) {
      feeds[t.name] = new ort.Tensor(t.type as 'float32', t.data as Float32Array, t.dims);
    }
    let results: ort.InferenceSession.ReturnType;
    try {
      results = await open.session.run(feeds, request.fetch);
    } catch (err) {
      throw new WorkbenchError(
        'RUNTIME',
        `${open.path}: onnxruntime failed while running the model: ${ortReason(err)}`,
      );
    }
    const outputs: WireTensor[] = request.fetch.map((name) => {
      const tensor = results[name] as ort.Tensor;
      return { name, type: tensor.type, dims: [...tensor.dims], data: tensor.data as WireTensor['data'] };
    });
    return { outputs };
  }

  async close(session: number): Promise<void> {
    const open = this.sessions.get(session);
    this.sessions.delete(session);
    await open?.session.release();
  }
}
