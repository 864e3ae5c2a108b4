/** Reading experiment specs and probe specs, for shells that take them as text or files. */
import { parseExperimentSpec } from '../engine/experiments/spec.js';
import { probePath } from '../engine/experiments/spec-paths.js';
import { parseProbeSpec } from '../engine/probe/spec.js';

export { parseExperimentSpec };

/** The file or folder a probe spec reads (null for built-in and random probes). */
export function probeDataPath(probe: string): { path: string; kind: 'file' | 'dir' } | null {
  return probePath(parseProbeSpec(probe));
}
