/**
 * What every probe set offers the extractor: a reproducible description (canonical spec + hash),
 * its size, the per-example shape it feeds, and examples by range as float32.
 *
 * `hash` = sha256 over the canonical spec and the bytes of every data file the probe reads, so a
 * changed file gives a different hash and cached activations are never reused by mistake.
 */
import { createHash, type Hash } from 'node:crypto';
import { WorkbenchError } from '../../common/errors.js';

export interface ProbeSource {
  /** Canonical spec: absolute paths, every option resolved (e.g. `images:/data/x?layout=nchw&…`). */
  readonly spec: string;
  readonly hash: string;
  /** Number of examples. */
  readonly n: number;
  /** Shape of one example as fed to the model (the input shape without its batch axis). */
  readonly exampleShape: number[];
  /** Things a person should know ("skipped 2 files that are not images"). */
  readonly notes: string[];
  /** Examples [start, start + count) in C order, count × prod(exampleShape) values. */
  read(start: number, count: number): Promise<Float32Array>;
  close(): Promise<void>;
}

export function probeHash(): Hash {
  return createHash('sha256');
}

export function elementsPerExample(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * The most values one example (a probe example or one layer's activations of it) may have: 2^26
 * float32 values, 256 MiB. Far above real inputs and layers (a 3×2048×2048 image is 12.6 M; a
 * 64×512×512 feature map 16.8 M), it stops a model that declares a dimension of 2^40, or blows a
 * layer up to gigabytes per example, before anything that size is allocated or written to disk.
 */
export const MAX_VALUES_PER_EXAMPLE = 2 ** 26;

/**
 * The most examples a probe may have unless the workbench is configured otherwise
 * (`maxProbeExamples`, `CKA_WORKBENCH_MAX_PROBE_EXAMPLES`, `--max-probe-examples`). A million
 * examples is far more than CKA needs (its Grams are n × n: 8 TB at a million), and a 4 MB .npz can
 * declare 33.5 million: the cap stops such a file at open instead of after gigabytes were written.
 */
export const DEFAULT_MAX_PROBE_EXAMPLES = 1_000_000;

/** BAD_PROBE when `n` is over the cap; called as soon as a probe knows its size (before hashing its data). */
export function checkExampleCount(spec: string, n: number, maxExamples = DEFAULT_MAX_PROBE_EXAMPLES): void {
  if (n > maxExamples) {
    throw new WorkbenchError(
      'BAD_PROBE',
      `probe ${spec}: ${n.toLocaleString('en-US')} examples is more than the ${maxExamples.toLocaleString('en-US')} ` +
        'the workbench takes (raise the limit with CKA_WORKBENCH_MAX_PROBE_EXAMPLES)',
      { setting: 'maxProbeExamples' },
    );
  }
}

export function formatValueCount(values: number): string {
  const mib = (values * 4) / 2 ** 20;
  return `${values.toLocaleString('en-US')} values (${mib >= 1024 ? `${(mib / 1024).toFixed(1)} GiB` : `${Math.round(mib)} MiB`} of float32)`;
}
