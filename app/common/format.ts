/** Text forms shared by every layer: shapes in messages, tables and views. */
import type { Dim } from './contract.js';

/** `[batch, 4, 28, 28]` style; `unknown` when the shape itself is not known. */
export function formatShape(shape: readonly Dim[] | null, unknown = '[?]'): string {
  return shape ? `[${shape.map((d) => (d === null ? '?' : String(d))).join(', ')}]` : unknown;
}
