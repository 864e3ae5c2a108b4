/**
 * The CKA core (issue 4): exact linear / RBF / debiased CKA from per-layer Grams computed once,
 * feature-space linear CKA for narrow layers, minibatch CKA (random access or streamed), bootstrap
 * percentile intervals, Gram spill/load. See engine.ts for the entry point.
 */
export { CkaEngine, type CompareOptions } from './engine.js';
export type { LayerGram } from './grams.js';
export type { MinibatchStream, StreamLayer } from './minibatch-stream.js';
export type { ResolvedSource } from './sources.js';
export { describeMeasure, measureKey, parseMeasure } from './measures.js';
export type * from './types.js';
