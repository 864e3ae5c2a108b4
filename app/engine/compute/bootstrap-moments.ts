/**
 * Worker side of the bootstrap: the resample "moments" of stored kernels from which every
 * resampled HSIC follows (formulas in ../cka/bootstrap.ts). With W [n, s] the multiplicities of
 * s resamples (column t = how often each example was drawn) and K a layer's kernel:
 *
 *   per layer:  KW = K·W,  quad_t = w_tᵀ K w_t,  diag_t = Σᵢ w_ti K_ii
 *   per pair:   hadamard_t = w_tᵀ (K∘L) w_t,  cross_t = Σᵢ w_ti (Kw_t)ᵢ (Lw_t)ᵢ,
 *               diagProduct_t = Σᵢ w_ti K_ii L_ii,  diagK·Lw_t = Σᵢ w_ti K_ii (Lw_t)ᵢ  (and L·K)
 *
 * The O(n²s) products run in onnxruntime on full n×n kernels materialised into reused buffers.
 */
import type { LayerMoments, PairMoments } from '../cka/bootstrap.js';
import { centredDiagonal, materialiseCentredFull, type CentredKernelView } from '../cka/centring.js';
import { bootstrapLayerGraph, bootstrapPairGraph } from './graphs.js';
import { arrayTypeOf, type ComputeDType } from './onnx-graph.js';
import { computeSession, runInto, tensor } from './ort-sessions.js';
import type { Workspace } from './workspace.js';

/** KW (written to `kwOut`, shared) and the per-layer moments. */
export async function layerMoments(
  view: CentredKernelView,
  weights: Float32Array | Float64Array,
  samples: number,
  dtype: ComputeDType,
  kwOut: Float32Array | Float64Array,
  workspace: Workspace,
  intraOpThreads: number,
): Promise<LayerMoments> {
  const n = view.n;
  const Ctor = arrayTypeOf(dtype);
  const kernel = materialiseCentredFull(view, workspace.get('bootK', Ctor, n * n));
  const w = workspace.get('bootW', Ctor, n * samples);
  w.set(weights);
  const kw = workspace.get('bootKW', Ctor, n * samples);
  const quad = workspace.get('bootQuad', Ctor, samples);
  const session = await computeSession(`bootstrap_layer_${dtype}`, () => bootstrapLayerGraph(dtype), intraOpThreads);
  await runInto(
    session,
    { K: tensor(kernel, [n, n]), W: tensor(w, [n, samples]) },
    { KW: tensor(kw, [n, samples]), quad: tensor(quad, [samples]) },
  );
  kwOut.set(kw);
  const diagonal = centredDiagonal(view);
  const diag = new Float64Array(samples);
  for (let i = 0; i < n; i++) {
    const kii = diagonal[i]!;
    const row = i * samples;
    for (let t = 0; t < samples; t++) diag[t]! += w[row + t]! * kii;
  }
  return { quad: Float64Array.from(quad), diag };
}

/** Pair moments of one row kernel K against each of `cols` (K materialised once). */
export async function pairMoments(
  rowView: CentredKernelView,
  rowKW: Float32Array | Float64Array,
  cols: readonly { view: CentredKernelView; kw: Float32Array | Float64Array }[],
  weights: Float32Array | Float64Array,
  samples: number,
  dtype: ComputeDType,
  workspace: Workspace,
  intraOpThreads: number,
): Promise<PairMoments[]> {
  const n = rowView.n;
  const Ctor = arrayTypeOf(dtype);
  const kernelK = materialiseCentredFull(rowView, workspace.get('bootK', Ctor, n * n));
  const w = workspace.get('bootW', Ctor, n * samples);
  w.set(weights);
  const kwK = workspace.get('bootKW', Ctor, n * samples);
  kwK.set(rowKW);
  const kernelL = workspace.get('bootL', Ctor, n * n);
  const kwL = workspace.get('bootLW', Ctor, n * samples);
  const hadamard = workspace.get('bootHadamard', Ctor, samples);
  const cross = workspace.get('bootCross', Ctor, samples);
  const session = await computeSession(`bootstrap_pair_${dtype}`, () => bootstrapPairGraph(dtype), intraOpThreads);
  const diagK = centredDiagonal(rowView);
  const results: PairMoments[] = [];
  for (const col of cols) {
    materialiseCentredFull(col.view, kernelL);
    kwL.set(col.kw);
    await runInto(
      session,
      {
        K: tensor(kernelK, [n, n]),
        L: tensor(kernelL, [n, n]),
        W: tensor(w, [n, samples]),
        KW: tensor(kwK, [n, samples]),
        LW: tensor(kwL, [n, samples]),
      },
      { hadamard: tensor(hadamard, [samples]), cross: tensor(cross, [samples]) },
    );
    const diagL = centredDiagonal(col.view);
    const diagProduct = new Float64Array(samples);
    const diagKTimesLw = new Float64Array(samples);
    const diagLTimesKw = new Float64Array(samples);
    for (let i = 0; i < n; i++) {
      const kii = diagK[i]!;
      const lii = diagL[i]!;
      const row = i * samples;
      for (let t = 0; t < samples; t++) {
        const wi = w[row + t]!;
        if (wi === 0) continue;
        diagProduct[t]! += wi * kii * lii;
        diagKTimesLw[t]! += wi * kii * kwL[row + t]!;
        diagLTimesKw[t]! += wi * lii * kwK[row + t]!;
      }
    }
    results.push({
      hadamard: Float64Array.from(hadamard),
      cross: Float64Array.from(cross),
      diagProduct,
      diagKTimesLw,
      diagLTimesKw,
    });
  }
  return results;
}
