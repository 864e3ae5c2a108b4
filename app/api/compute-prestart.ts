/**
 * How a shell starts the CKA core's worker threads ahead of a command that computes at once (a
 * compare of extracted folders): called before the rest of the API is imported, so the workers load
 * onnxruntime while the main thread loads the app (compute/pool.ts `prestartComputePool`).
 */
export { prestartComputePool as prestartComputeWorkers } from '../engine/compute/pool.js';
