/**
 * Model layouts: for a model file (by sha256) and a layer selection, the layers it yields (after
 * the activation engine's per-example check), its graph outputs and its input. They follow from
 * the file's bytes alone, so a cached layout is valid for as long as the hash matches.
 */
import type { Db } from './database.js';

export interface ModelLayout {
  layers: { tensor: string; name: string; op: string; dtype: string; shape: (number | string | null)[] | null }[];
  outputs: string[];
  input: { name: string; shape: (number | string | null)[]; dtype: string };
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
