/**
 * The CKA engine's public face: everything the rest of the app uses comes from here. `CkaEngine`
 * takes layer sources (arrays, .npy files, streams) and returns similarity matrices: exact linear,
 * RBF and debiased CKA from per-layer Grams computed once, feature-space linear CKA for narrow
 * layers, minibatch CKA (random access or streamed), bootstrap intervals, Grams spilled to and
 * loaded from a cache. The formulas are in ../cka (start at cka/reference.ts).
 */
export { CkaEngine, bootstrapUnsupported, type CompareOptions } from './engine.js';
export type { CompareFactorsOptions, LayerFactors } from './factors.js';
export { featureFormIsCheaper } from './features.js';
export { loadGram, saveGram } from './gram-cache.js';
export { loadFactors, saveFactors } from './factor-cache.js';
export { layerGramOf, type LayerGram } from './grams.js';
export type { MinibatchStream, StreamLayer } from './minibatch-stream.js';
export type { ResolvedSource } from './sources.js';
export type * from './types.js';
export { describeMeasure, isAsymmetric, isBaseline, isGramMeasure, measureKey, parseMeasure } from '../cka/measures.js';
export type * from '../cka/types.js';
