/**
 * onnxruntime sessions for the compute graphs, created once per (graph, thread count) and cached
 * for the life of the thread that uses them. Spinning is off: several sessions share the cores and
 * a spinning idle pool steals them from the others.
 */
import * as ort from 'onnxruntime-node';
import { WorkbenchError } from '../../common/errors.js';
import { encodeComputeGraph, type GraphSpec } from './onnx-graph.js';

export type OrtTensor = ort.Tensor;
export type OrtSession = ort.InferenceSession;

const sessions = new Map<string, Promise<OrtSession>>();

function sessionOptions(intraOpThreads: number): ort.InferenceSession.SessionOptions {
  return {
    intraOpNumThreads: intraOpThreads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'basic',
    logSeverityLevel: 3,
    // Node binding: nested keys become session config entries ("session.intra_op.allow_spinning").
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  };
}

/** The cached session for a graph; `spec` is only built on the first request for `key`. */
export function computeSession(key: string, spec: () => GraphSpec, intraOpThreads: number): Promise<OrtSession> {
  const cacheKey = `${key}@${intraOpThreads}`;
  let session = sessions.get(cacheKey);
  if (!session) {
    session = ort.InferenceSession.create(encodeComputeGraph(spec()), sessionOptions(intraOpThreads)).catch(
      (err: unknown) => {
        sessions.delete(cacheKey);
        throw new WorkbenchError(
          'RUNTIME',
          `onnxruntime refused the compute graph ${key}: ${err instanceof Error ? err.message : String(err)}`,
        );
      },
    );
    sessions.set(cacheKey, session);
  }
  return session;
}

export function tensor(data: Float32Array | Float64Array, dims: readonly number[]): OrtTensor {
  return data instanceof Float32Array ? new ort.Tensor('float32', data, dims) : new ort.Tensor('float64', data, dims);
}

/**
 * Runs a session writing into caller-owned output tensors (reused buffers: on these machines
 * touching fresh memory costs far more than the arithmetic it holds).
 */
export async function runInto(
  session: OrtSession,
  feeds: Record<string, OrtTensor>,
  outputs: Record<string, OrtTensor>,
): Promise<void> {
  try {
    await session.run(feeds, outputs);
  } catch (err) {
    if (err instanceof RangeError || (err instanceof Error && /bad_alloc|allocat/i.test(err.message))) {
      throw new WorkbenchError('OUT_OF_MEMORY', `onnxruntime ran out of memory in a compute graph: ${err.message}`);
    }
    throw new WorkbenchError(
      'RUNTIME',
      `onnxruntime failed in a compute graph: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}

export async function releaseSessions(): Promise<void> {
  const all = [...sessions.values()];
  sessions.clear();
  await Promise.all(all.map((s) => s.then((x) => x.release()).catch(() => undefined)));
}
