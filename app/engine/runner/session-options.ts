/**
 * onnxruntime session options for the runner.
 *
 * `fast` runs ORT's full graph optimisation (level `all`: constant folding, fusions, the NCHWc
 * layout — 4–15× faster than no optimisation on the test CNNs). Exposed tensors keep their values
 * (ORT does not fuse across a graph output), but a fusion that is blocked in the rewritten graph
 * and taken in the untouched one can change the last bits of the final outputs (ConvBN, the NCHWc
 * residual Sum, GELU, transpose pushing). Exposing only block boundaries (ReLU outputs) blocks
 * none of them on the test models.
 *
 * `exact` turns graph rewrites off: every node runs as written, so the rewritten graph computes
 * the untouched graph's outputs bit for bit whatever is exposed. Slower; for verification.
 *
 * Models stored with external data are loaded from a buffer, so ORT is told the folder their
 * data files live in (`session.model_external_initializers_file_folder_path`).
 */
import type { InferenceSession } from 'onnxruntime-node';
import type { SessionConfig } from './protocol.js';

export function sessionOptions(config: SessionConfig, modelFolder: string): InferenceSession.SessionOptions {
  return {
    graphOptimizationLevel: config.optimization === 'exact' ? 'disabled' : 'all',
    intraOpNumThreads: config.intraOpThreads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    logSeverityLevel: 3,
    extra: {
      session: {
        // Idle ORT threads otherwise spin for a while after every run, taking cores from the host.
        'intra_op.allow_spinning': '0',
        'inter_op.allow_spinning': '0',
        model_external_initializers_file_folder_path: modelFolder,
      },
    },
  };
}
