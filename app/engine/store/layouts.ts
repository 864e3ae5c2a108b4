/**
 * Model layouts: for a model file (by the file's own sha256) and a layer selection with its reductions, the
 * layers it yields (after the activation engine's calibration: how each splits into examples and
 * what its reduction makes of it), those it leaves out, its graph outputs and its inputs. They
 * follow from the file's bytes alone — except under a token probe, whose sequence lengths and
 * tokens shape the rows: such a layout holds only for the probe hash it records.
 */
import type { OmittedLayer, Reduction } from '../../common/contract.js';
import type { Db } from './database.js';

export interface ModelLayout {
  layers: {
    tensor: string;
    name: string;
    op: string;
    dtype: string;
    shape: (number | string | null)[] | null;
    reduction: Reduction;
    key: string;
    rows: number;
    features: number;
    tokenization?: string;
    /** Rows per example (a fixed count), or `valid` (the probe's valid tokens). */
    rowsPerExample: number | 'valid';
  }[];
  outputs: string[];
  inputs: { name: string; shape: (number | string | null)[]; dtype: string }[];
  omitted: OmittedLayer[];
  /** The hash of the token probe the layout was found with; null for other probes. */
  sequenceProbe: string | null;
  /**
   * The side files (external data) the model names, as written in it: the model's sha256 covers
   * their contents (onnx/model-digest.ts), so a layout found by the file's sha256 needs them.
   * Absent in layouts stored before they were recorded, which are found again.
   */
  sideFiles?: string[];
}

export class LayoutStore {
  constructor(private readonly db: Db) {}

  get(modelSha256: string, selection: string): ModelLayout | null {
    const row = this.db
      .prepare('SELECT layout_json FROM model_layouts WHERE model_sha256 = ? AND selection = ?')
      .get(modelSha256, selection) as { layout_json: string } | undefined;
    return row ? (JSON.parse(row.layout_json) as ModelLayout) : null;
  }

  put(modelSha256: string, selection: string, layout: ModelLayout): void {
    this.db
      .prepare(
        `INSERT INTO model_layouts (model_sha256, selection, layout_json) VALUES (?, ?, ?)
         ON CONFLICT (model_sha256, selection) DO UPDATE SET layout_json = excluded.layout_json`,
      )
      .run(modelSha256, selection, JSON.stringify(layout));
  }
}
