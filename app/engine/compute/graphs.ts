/**
 * The compute graphs the CKA core runs in onnxruntime. Every dimension is symbolic, so one session
 * per graph and dtype serves every shape.
 */
import type { ComputeDType, GraphSpec } from './onnx-graph.js';

const ELEM = { float32: 1, float64: 11 } as const;

/**
 * Column centring of activations X [n, p] (the centring of the linear Gram, fused before the
 * product: (X − 1μᵀ)(X − 1μᵀ)ᵀ = HXXᵀH), optionally cast to the Gram's precision; also returns
 * the column means μ.
 */
export function centreColumnsGraph(input: ComputeDType, output: ComputeDType): GraphSpec {
  const nodes: GraphSpec['nodes'][number][] = [];
  let x = 'X';
  if (input !== output && output === 'float64') {
    nodes.push({ op: 'Cast', inputs: ['X'], outputs: ['X64'], attributes: { to: { int: ELEM.float64 } } });
    x = 'X64';
  }
  const castAfter = input !== output && output === 'float32';
  nodes.push(
    { op: 'ReduceMean', inputs: [x], outputs: ['mean'], attributes: { axes: { ints: [0] }, keepdims: { int: 1 } } },
    { op: 'Sub', inputs: [x, 'mean'], outputs: [castAfter ? 'centred' : 'Xc'] },
  );
  if (castAfter)
    nodes.push({ op: 'Cast', inputs: ['centred'], outputs: ['Xc'], attributes: { to: { int: ELEM.float32 } } });
  const work: ComputeDType = input === 'float64' || output === 'float64' ? 'float64' : 'float32';
  return {
    name: `centre_columns_${input}_${output}`,
    inputs: [{ name: 'X', dtype: input, dims: ['n', 'p'] }],
    outputs: [
      { name: 'Xc', dtype: output, dims: ['n', 'p'] },
      { name: 'mean', dtype: work, dims: [1, 'p'] },
    ],
    nodes,
  };
}

/** C = A·Bᵀ for A [m, k], B [r, k]: Gram blocks (B = rows of the same X) and the stacked HSIC product. */
export function gemmTransBGraph(dtype: ComputeDType): GraphSpec {
  return {
    name: `gemm_nt_${dtype}`,
    inputs: [
      { name: 'A', dtype, dims: ['m', 'k'] },
      { name: 'B', dtype, dims: ['r', 'k'] },
    ],
    outputs: [{ name: 'C', dtype, dims: ['m', 'r'] }],
    nodes: [{ op: 'Gemm', inputs: ['A', 'B'], outputs: ['C'], attributes: { transB: { int: 1 } } }],
  };
}

/** C = A·B for A [m, k], B [k, r]: the linear-algebra products of the CCA-family measures. */
export function gemmGraph(dtype: ComputeDType): GraphSpec {
  return {
    name: `gemm_nn_${dtype}`,
    inputs: [
      { name: 'A', dtype, dims: ['m', 'k'] },
      { name: 'B', dtype, dims: ['k', 'r'] },
    ],
    outputs: [{ name: 'C', dtype, dims: ['m', 'r'] }],
    nodes: [{ op: 'Gemm', inputs: ['A', 'B'], outputs: ['C'] }],
  };
}

/** C = Aᵀ·B for A [n, p], B [n, q]: feature-space cross-covariances of centred activations. */
export function gemmTransAGraph(dtype: ComputeDType): GraphSpec {
  return {
    name: `gemm_tn_${dtype}`,
    inputs: [
      { name: 'A', dtype, dims: ['n', 'p'] },
      { name: 'B', dtype, dims: ['n', 'q'] },
    ],
    outputs: [{ name: 'C', dtype, dims: ['p', 'q'] }],
    nodes: [{ op: 'Gemm', inputs: ['A', 'B'], outputs: ['C'], attributes: { transA: { int: 1 } } }],
  };
}

const AXIS0 = { name: 'axis0', dims: [1], int64: [0] };

/**
 * Bootstrap, per layer: with resampling multiplicities W [n, s] (column = one resample),
 * KW = K·W and quad = diag(WᵀKW) = wᵀKw per resample.
 */
export function bootstrapLayerGraph(dtype: ComputeDType): GraphSpec {
  return {
    name: `bootstrap_layer_${dtype}`,
    inputs: [
      { name: 'K', dtype, dims: ['n', 'n'] },
      { name: 'W', dtype, dims: ['n', 's'] },
    ],
    outputs: [
      { name: 'KW', dtype, dims: ['n', 's'] },
      { name: 'quad', dtype, dims: ['s'] },
    ],
    initializers: [AXIS0],
    nodes: [
      { op: 'MatMul', inputs: ['K', 'W'], outputs: ['KW'] },
      { op: 'Mul', inputs: ['W', 'KW'], outputs: ['WKW'] },
      { op: 'ReduceSum', inputs: ['WKW', 'axis0'], outputs: ['quad'], attributes: { keepdims: { int: 0 } } },
    ],
  };
}

/**
 * Bootstrap, per pair: hadamard = wᵀ(K∘L)w and cross = Σᵢ wᵢ (Kw)ᵢ (Lw)ᵢ per resample — the
 * two terms of the resampled HSIC that need the pair (see cka/bootstrap.ts).
 */
export function bootstrapPairGraph(dtype: ComputeDType): GraphSpec {
  return {
    name: `bootstrap_pair_${dtype}`,
    inputs: [
      { name: 'K', dtype, dims: ['n', 'n'] },
      { name: 'L', dtype, dims: ['n', 'n'] },
      { name: 'W', dtype, dims: ['n', 's'] },
      { name: 'KW', dtype, dims: ['n', 's'] },
      { name: 'LW', dtype, dims: ['n', 's'] },
    ],
    outputs: [
      { name: 'hadamard', dtype, dims: ['s'] },
      { name: 'cross', dtype, dims: ['s'] },
    ],
    initializers: [AXIS0],
    nodes: [
      { op: 'Mul', inputs: ['K', 'L'], outputs: ['KL'] },
      { op: 'MatMul', inputs: ['KL', 'W'], outputs: ['KLW'] },
      { op: 'Mul', inputs: ['W', 'KLW'], outputs: ['WKLW'] },
      { op: 'ReduceSum', inputs: ['WKLW', 'axis0'], outputs: ['hadamard'], attributes: { keepdims: { int: 0 } } },
      { op: 'Mul', inputs: ['KW', 'LW'], outputs: ['KWLW'] },
      { op: 'Mul', inputs: ['W', 'KWLW'], outputs: ['WKWLW'] },
      { op: 'ReduceSum', inputs: ['WKWLW', 'axis0'], outputs: ['cross'], attributes: { keepdims: { int: 0 } } },
    ],
  };
}
