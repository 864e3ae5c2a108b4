/**
 * The compute graphs the CKA core runs in onnxruntime. Every dimension is symbolic, so one session
 * per graph and dtype serves every shape.
 */
import type { ComputeDType, GraphNode, GraphSpec, GraphValue } from './onnx-graph.js';

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

/**
 * The blocks XₐX_bᵀ (a ≤ b) of the Gram of X cut into row chunks C₀…C_{k−1}: inputs C{a}, outputs
 * G{a}_{b}, one Gemm each (compute/gram.ts: X crosses into onnxruntime once, in pieces).
 */
export function chunkGramGraph(chunks: number, dtype: ComputeDType): GraphSpec {
  const inputs: GraphValue[] = [];
  const outputs: GraphValue[] = [];
  const nodes: GraphNode[] = [];
  for (let a = 0; a < chunks; a++) inputs.push({ name: `C${a}`, dtype, dims: [`r${a}`, 'p'] });
  for (let a = 0; a < chunks; a++) {
    for (let b = a; b < chunks; b++) {
      outputs.push({ name: `G${a}_${b}`, dtype, dims: [`r${a}`, `r${b}`] });
      nodes.push({
        op: 'Gemm',
        inputs: [`C${a}`, `C${b}`],
        outputs: [`G${a}_${b}`],
        attributes: { transB: { int: 1 } },
      });
    }
  }
  return { name: `gram_chunks_${chunks}_${dtype}`, inputs, outputs, nodes };
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
