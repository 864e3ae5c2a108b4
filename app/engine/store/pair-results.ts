/**
 * Finished pair comparisons: the CKA core's result for one pair of layer lists and one measure,
 * keyed by a hash of everything the numbers depend on. Re-running an experiment (or one with a
 * model added) reads the pairs it already has — the same numbers, bit for bit — and computes only
 * the new ones. They are small (layers × layers values) and live in the database.
 */
import { createHash } from 'node:crypto';
import type { CkaResult } from '../similarity/index.js';
import type { Db } from './database.js';

export interface PairKeyParts {
  probeHash: string;
  rows: { sha256: string; probeHash: string; tensors: readonly string[] };
  cols: { sha256: string; probeHash: string; tensors: readonly string[] };
  /** The measure's canonical key (cka/measures.ts measureKey). */
  measure: string;
  bootstrap: { samples: number; seed: number; level?: number } | null;
  precision: string;
}

export function pairKey(parts: PairKeyParts): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

export class PairResultStore {
  constructor(private readonly db: Db) {}

  get(key: string): CkaResult | null {
    const row = this.db.prepare('SELECT result_json FROM pair_results WHERE key = ?').get(key) as
      { result_json: string } | undefined;
    if (!row) return null;
    this.db.prepare('UPDATE pair_results SET last_used_at = ? WHERE key = ?').run(Date.now(), key);
    return JSON.parse(row.result_json) as CkaResult;
  }

  has(key: string): boolean {
    return this.db.prepare('SELECT 1 FROM pair_results WHERE key = ?').get(key) !== undefined;
  }

  /** Records results (one transaction). */
  put(items: readonly { key: string; result: CkaResult }[]): void {
    const insert = this.db.prepare(
      `INSERT INTO pair_results (key, result_json, created_at, last_used_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (key) DO NOTHING`,
    );
    const at = Date.now();
    this.db
      .transaction(() => {
        for (const { key, result } of items) {
          const { timings: _timings, ...kept } = result;
          insert.run(key, JSON.stringify({ ...kept, timings: {} }), at, at);
        }
      })
      .immediate();
  }

  count(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM pair_results').get() as { n: number }).n;
  }

  clear(): void {
    this.db.prepare('DELETE FROM pair_results').run();
  }
}
