/**
 * The files and folders an experiment spec reads — its models, its probes' data, tokenizers —
 * found without the spec's schema (zod), so light modules (the file-access checks, the run-input
 * key) can list them.
 */
import type { ExperimentSpec } from '../../common/contract.js';
import { parseProbeSpec, type ProbeSpec } from '../probe/spec.js';

/** The files and folders a spec reads: model paths, the probes' data paths, tokenizers. */
export function specPaths(spec: ExperimentSpec): { models: string[]; probes: ProbePath[]; tokenizers: string[] } {
  const probes = [spec.probe, ...spec.models.flatMap((m) => (m.probe ? [m.probe] : []))].map((p) => parseProbeSpec(p));
  return {
    models: spec.models.map((m) => m.path),
    probes: probes.map(probePath).filter((p): p is ProbePath => p !== null),
    tokenizers: [
      ...spec.models.flatMap((m) => (m.tokenizer ? [m.tokenizer] : [])),
      ...probes.flatMap((p) => (p.kind === 'text' && p.tokenizer ? [p.tokenizer] : [])),
    ],
  };
}

export interface ProbePath {
  path: string;
  /** images: read a folder; npy/npz: a file. */
  kind: 'file' | 'dir';
}

export function probePath(probe: ProbeSpec): ProbePath | null {
  switch (probe.kind) {
    case 'npy':
    case 'npz':
    case 'text':
      return { path: probe.path, kind: 'file' };
    case 'images':
      return { path: probe.dir, kind: 'dir' };
    case 'fashion-mnist':
    case 'random':
      return null;
  }
}
