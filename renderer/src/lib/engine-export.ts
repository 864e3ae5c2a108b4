/**
 * Exports made by the engine (`exportRun`): the exact numbers as .npy (float64), the engine's CSV
 * and SVG of one matrix or seeds summary, and the whole result as JSON. Views say *what* to export
 * (an {@link EngineTarget}); the run view, which knows the run, turns that into a file.
 */
import type { ExportedFile, ExportFormat } from '@common/contract.js';

/** One matrix of the result (index into result.matrices), one seeds summary, or one ordered pair of its models. */
export type EngineTarget =
  | { matrix: number }
  | { seeds: { measure: number; statistic: 'mean' | 'std' } }
  | { pair: { rows: number; cols: number; measure: number } };

/** Saves what the engine writes for `target` in `format` (json: the whole result). */
export type EngineExport = (target: EngineTarget, format: ExportFormat) => Promise<void>;

/** The file as a Blob: base64 (npy) decoded to bytes, text as UTF-8. */
export function exportedBlob(file: ExportedFile): Blob {
  if (file.encoding === 'base64') {
    const binary = atob(file.data);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return new Blob([bytes], { type: file.mediaType });
  }
  return new Blob([file.data], { type: file.mediaType });
}
