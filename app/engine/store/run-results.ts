/**
 * A run's result as it is written while the run goes: its header (models, probe) once the run
 * knows them, one row per finished matrix, each in its own transaction, and the end (seeds
 * summary, provenance). SQL of the history store (history.ts delegates here).
 */
import type { ExperimentResult, ResultModel, SeedsSummary, SimilarityMatrix } from '../../common/contract.js';
import type { Db } from './database.js';

export interface StoredResultParts {
  models: ResultModel[];
  probe: ExperimentResult['probe'];
  partial: boolean;
  seeds: SeedsSummary[] | null;
  /** Seeds runs: positions of the logits among each model's layers. */
  excludedLayers: number[] | null;
  provenance: ExperimentResult['provenance'] | null;
  matrices: SimilarityMatrix[];
}

export class RunResults {
  constructor(private readonly db: Db) {}

  writeResultHeader(
    runId: string,
    header: { models: ResultModel[]; probe: ExperimentResult['probe']; excludedLayers?: number[] },
  ): void {
    this.db
      .prepare(
        `INSERT INTO run_results (run_id, models_json, probe_json, layout_json, partial) VALUES (?, ?, ?, ?, 1)
         ON CONFLICT (run_id) DO UPDATE SET models_json = excluded.models_json, probe_json = excluded.probe_json,
           layout_json = excluded.layout_json`,
      )
      .run(
        runId,
        JSON.stringify(header.models),
        JSON.stringify(header.probe),
        header.excludedLayers ? JSON.stringify(header.excludedLayers) : null,
      );
  }

  /** Adds finished matrices (numbered from `firstSeq`) in one transaction: all of them or none. */
  appendMatrices(runId: string, firstSeq: number, matrices: readonly SimilarityMatrix[]): void {
    const insert = this.db.prepare('INSERT INTO run_matrices (run_id, seq, matrix_json) VALUES (?, ?, ?)');
    this.db
      .transaction(() => matrices.forEach((m, i) => insert.run(runId, firstSeq + i, JSON.stringify(m))))
      .immediate();
  }

  finishResult(
    runId: string,
    end: { partial: boolean; seeds: SeedsSummary[] | null; provenance: ExperimentResult['provenance'] },
  ): void {
    this.db
      .prepare('UPDATE run_results SET partial = ?, seeds_json = ?, provenance_json = ? WHERE run_id = ?')
      .run(end.partial ? 1 : 0, end.seeds ? JSON.stringify(end.seeds) : null, JSON.stringify(end.provenance), runId);
  }

  provenance(runId: string): StoredResultParts['provenance'] {
    const row = this.db.prepare('SELECT provenance_json FROM run_results WHERE run_id = ?').get(runId) as
      { provenance_json: string | null } | undefined;
    return row?.provenance_json ? (JSON.parse(row.provenance_json) as ExperimentResult['provenance']) : null;
  }

  /** Writes `from`'s whole result (header, matrices, seeds summary) as `to`'s, with its own provenance. */
  copyResult(from: string, to: string, provenance: ExperimentResult['provenance']): void {
    this.db
      .prepare(
        `INSERT INTO run_results (run_id, models_json, probe_json, seeds_json, layout_json, partial, provenance_json)
         SELECT ?, models_json, probe_json, seeds_json, layout_json, partial, ? FROM run_results WHERE run_id = ?`,
      )
      .run(to, JSON.stringify(provenance), from);
    this.db
      .prepare(
        'INSERT INTO run_matrices (run_id, seq, matrix_json) SELECT ?, seq, matrix_json FROM run_matrices WHERE run_id = ?',
      )
      .run(to, from);
  }

  resultParts(runId: string): StoredResultParts | null {
    const header = this.db.prepare('SELECT * FROM run_results WHERE run_id = ?').get(runId) as
      | {
          models_json: string;
          probe_json: string;
          seeds_json: string | null;
          layout_json: string | null;
          partial: number;
          provenance_json: string | null;
        }
      | undefined;
    if (!header) return null;
    const matrices = this.db
      .prepare('SELECT matrix_json FROM run_matrices WHERE run_id = ? ORDER BY seq')
      .all(runId) as { matrix_json: string }[];
    return {
      models: JSON.parse(header.models_json) as ResultModel[],
      probe: JSON.parse(header.probe_json) as ExperimentResult['probe'],
      partial: header.partial !== 0,
      seeds: header.seeds_json ? (JSON.parse(header.seeds_json) as SeedsSummary[]) : null,
      excludedLayers: header.layout_json ? (JSON.parse(header.layout_json) as number[]) : null,
      provenance: header.provenance_json
        ? (JSON.parse(header.provenance_json) as ExperimentResult['provenance'])
        : null,
      matrices: matrices.map((m) => JSON.parse(m.matrix_json) as SimilarityMatrix),
    };
  }

  /** Pairs of models with a finished matrix (a pair stored in both orders, as seeds runs do, once). */
  finishedPairs(runId: string): number {
    const row = this.db
      .prepare(
        `SELECT COUNT(DISTINCT min(r, c) || ',' || max(r, c)) AS n FROM (
           SELECT json_extract(matrix_json, '$.rows.model') AS r, json_extract(matrix_json, '$.cols.model') AS c
           FROM run_matrices WHERE run_id = ?)`,
      )
      .get(runId) as { n: number };
    return row.n;
  }
}
