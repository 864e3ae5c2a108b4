/**
 * The worker thread of the compute pool (run by piscina): one handler per task kind. Each thread
 * keeps its onnxruntime sessions and scratch buffers between tasks.
 */
import type { WorkbenchErrorData } from '../../common/contract.js';
import { toErrorData } from '../../common/errors.js';
import { kernelSummary } from '../cka/centred-traces.js';
import { centredRbfKernels } from '../cka/rbf.js';
import { loadActivations } from './activations-in.js';
import { baselinePair } from './baseline-pairs.js';
import { layerMoments, pairMoments } from './bootstrap-moments.js';
import { featureProducts } from './feature-products.js';
import { centredGramInto } from './gram.js';
import { layerFactors } from './layer-factors.js';
import { stackedPackedProducts } from './hsic-stack.js';
import { batchProducts } from './minibatch-batch.js';
import { dtypeOf } from './onnx-graph.js';
import type { ComputeTask, TaskResults } from './tasks.js';
import { Workspace } from './workspace.js';

const workspace = new Workspace();

/** Scratch kept between tasks is trimmed to this size after each task. */
const KEEP_SCRATCH_BYTES = 512 * 2 ** 20;

async function handle(task: ComputeTask): Promise<TaskResults[ComputeTask['kind']]> {
  switch (task.kind) {
    case 'gram': {
      const { x, n, features } = await loadActivations(task.input, workspace);
      const input = dtypeOf(x);
      const dtype = task.precision === 'auto' ? input : task.precision;
      const flags = await centredGramInto(x, n, features, dtype, task.packedOut, workspace, task.intraOpThreads, {
        overwrite: true,
      });
      return { ...flags, n, features, dtype: input };
    }
    case 'summary':
      return kernelSummary(task.packed, task.n);
    case 'rbf': {
      const distances = workspace.get('distances', Float64Array, task.gram.length);
      return {
        medianSquaredDistance: centredRbfKernels(task.gram, task.n, task.thresholds, task.kernelsOut, distances),
      };
    }
    case 'stack':
      return stackedPackedProducts(task.packed, task.start, task.end, workspace, task.intraOpThreads);
    case 'bootstrapLayer':
      return layerMoments(
        task.view,
        task.weights,
        task.samples,
        task.dtype,
        task.kwOut,
        workspace,
        task.intraOpThreads,
      );
    case 'bootstrapPairs':
      return pairMoments(
        task.rowView,
        task.rowKW,
        task.cols,
        task.weights,
        task.samples,
        task.dtype,
        workspace,
        task.intraOpThreads,
      );
    case 'batch':
      return batchProducts(task.layers, task.selection, task.precision, workspace, task.intraOpThreads);
    case 'features':
      return featureProducts(task.layers, task.precision, workspace, task.intraOpThreads);
    case 'factors':
      return layerFactors(task.input, task.layer, workspace, task.intraOpThreads);
    case 'baselinePair':
      return baselinePair(task.a, task.b, task.measures, task.backward, workspace, task.intraOpThreads);
  }
}

/** Errors travel back as data (a thrown error loses its code crossing threads). */
export type TaskEnvelope = { ok: true; value: unknown } | { ok: false; error: WorkbenchErrorData };

export default async function runTask(task: ComputeTask): Promise<TaskEnvelope> {
  try {
    return { ok: true, value: await handle(task) };
  } catch (err) {
    if (err instanceof RangeError && /alloc|length/i.test(err.message)) {
      return {
        ok: false,
        error: {
          code: 'OUT_OF_MEMORY',
          message: `a worker could not allocate memory for a ${task.kind} task (${err.message})`,
        },
      };
    }
    return { ok: false, error: toErrorData(err) };
  } finally {
    workspace.trim(KEEP_SCRATCH_BYTES);
  }
}
