/**
 * Layers of a selection left out because their first axis is not the examples or because they are
 * too large per example (MAX_VALUES_PER_EXAMPLE): the lists, the notes that say so, and the error
 * when no layer is left. Shared by the check on onnxruntime's metadata (prepare.ts) and the one on
 * what the calibration batches put out (batch-loop.ts), which differ only in how much they list.
 */
import { WorkbenchError } from '../../common/errors.js';
import { MAX_VALUES_PER_EXAMPLE, formatValueCount } from '../probe/source.js';

export class LeftOutLayers {
  /** Layers whose first axis is not the examples, as the notes name them. */
  readonly dropped: string[] = [];
  /** Layers with more than MAX_VALUES_PER_EXAMPLE values per example. */
  readonly tooLarge: string[] = [];

  /** Notes list the first `shown` layers of each kind, joined by `separator`. */
  constructor(private readonly list: { shown: number; separator: string }) {}

  /**
   * Throws unless a layer was kept: OUT_OF_MEMORY when every layer left out was too large, else
   * BAD_INPUT saying `noneSplit`.
   */
  requireKept(kept: number, path: string, noneSplit: string): void {
    if (kept > 0) return;
    if (this.tooLarge.length > 0 && this.dropped.length === 0) {
      throw new WorkbenchError(
        'OUT_OF_MEMORY',
        `${path}: every selected layer has more than ${formatValueCount(MAX_VALUES_PER_EXAMPLE)} per example`,
      );
    }
    throw new WorkbenchError('BAD_INPUT', `${path}: ${noneSplit}`);
  }

  notes(): string[] {
    const { shown, separator } = this.list;
    const list = (items: string[]) =>
      `${items.slice(0, shown).join(separator)}${items.length > shown ? `${separator}…` : ''}`;
    return [
      ...(this.dropped.length > 0
        ? [`left out ${this.dropped.length} layer(s) whose first axis is not the examples: ${list(this.dropped)}`]
        : []),
      ...(this.tooLarge.length > 0
        ? [
            `left out ${this.tooLarge.length} layer(s) with more than ${formatValueCount(MAX_VALUES_PER_EXAMPLE)} per example: ${list(this.tooLarge)}`,
          ]
        : []),
    ];
  }
}
