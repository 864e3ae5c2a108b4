/**
 * Experiments, runs and results in the database. A run's result is written as it grows: its
 * header (models, probe) once the run knows them, then one row per finished matrix, each in its
 * own transaction — so whatever a run finished survives a crash, and a result is read back by
 * joining the pieces (results.ts in experiments/ assembles them).
 */
import { randomUUID } from 'node:crypto';
import type {
  ExperimentKind,
  ExperimentResult,
  ResultModel,
  RunInfo,
  RunProgress,
  RunStatus,
  SeedsSummary,
  SimilarityMatrix,
  WorkbenchErrorData,
  ErrorCode,
} from '../../common/contract.js';
import { WorkbenchError } from '../../common/errors.js';
import type { Db } from './database.js';
import { THIS_PROCESS, ownerAlive } from './owner.js';

export interface ExperimentRecord {
  id: string;
  name: string;
  kind: ExperimentKind;
  /** As stored; callers validate it (experiments/spec.ts) before use. */
  spec: unknown;
  createdAt: string;
  updatedAt: string;
}

export interface RunRecord extends RunInfo {
  /** The spec the run ran with (a snapshot: the experiment may change later). */
  spec: unknown;
  progress: RunProgress | null;
}

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

interface RunRow {
  id: string;
  experiment_id: string;
  name: string;
  kind: string;
  spec_json: string;
  status: RunStatus;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  error_code: string | null;
  error_message: string | null;
  owner_host: string | null;
  owner_pid: number | null;
  owner_token: string | null;
  progress_json: string | null;
}

interface ExperimentRow {
  id: string;
  name: string;
  kind: string;
  spec_json: string;
  created_at: string;
  updated_at: string;
}

export const ACTIVE_STATUSES: readonly RunStatus[] = ['queued', 'running'];

function now(): string {
  return new Date().toISOString();
}

function toExperiment(row: ExperimentRow): ExperimentRecord {
  return {
    id: row.id,
    name: row.name,
    kind: row.kind as ExperimentKind,
    spec: JSON.parse(row.spec_json) as unknown,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toRun(row: RunRow): RunRecord {
  const run: RunRecord = {
    id: row.id,
    experimentId: row.experiment_id,
    name: row.name,
    kind: row.kind as ExperimentKind,
    status: row.status,
    createdAt: row.created_at,
    spec: JSON.parse(row.spec_json) as unknown,
    progress: row.progress_json ? (JSON.parse(row.progress_json) as RunProgress) : null,
  };
  if (row.started_at) run.startedAt = row.started_at;
  if (row.finished_at) run.finishedAt = row.finished_at;
  if (row.error_code) run.error = { code: row.error_code as ErrorCode, message: row.error_message ?? '' };
  return run;
}

/** The RunInfo part of a record (what the API returns and events carry). */
export function runInfo(record: RunRecord): RunInfo {
  const { spec: _spec, progress: _progress, ...info } = record;
  return info;
}

export class HistoryStore {
  constructor(private readonly db: Db) {}

  // ---- experiments ----

  createExperiment(spec: { name: string; kind: ExperimentKind }): ExperimentRecord {
    const id = `exp-${randomUUID()}`;
    const at = now();
    this.db
      .prepare('INSERT INTO experiments (id, name, kind, spec_json, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(id, spec.name, spec.kind, JSON.stringify(spec), at, at);
    return this.experiment(id);
  }

  updateExperiment(id: string, spec: { name: string; kind: ExperimentKind }): ExperimentRecord {
    const changes = this.db
      .prepare('UPDATE experiments SET name = ?, kind = ?, spec_json = ?, updated_at = ? WHERE id = ?')
      .run(spec.name, spec.kind, JSON.stringify(spec), now(), id).changes;
    if (changes === 0) throw notFound('experiment', id);
    return this.experiment(id);
  }

  findExperiment(id: string): ExperimentRecord | null {
    const row = this.db.prepare('SELECT * FROM experiments WHERE id = ?').get(id) as ExperimentRow | undefined;
    return row ? toExperiment(row) : null;
  }

  experiment(id: string): ExperimentRecord {
    const found = this.findExperiment(id);
    if (!found) throw notFound('experiment', id);
    return found;
  }

  listExperiments(): ExperimentRecord[] {
    const rows = this.db.prepare('SELECT * FROM experiments ORDER BY updated_at DESC, id').all() as ExperimentRow[];
    return rows.map(toExperiment);
  }

  /** Deletes the experiment with its runs; returns how many runs went. */
  deleteExperiment(id: string): number {
    return this.db
      .transaction(() => {
        this.experiment(id);
        this.refuseIfActive(
          'SELECT COUNT(*) AS n FROM runs WHERE experiment_id = ? AND status IN (?, ?)',
          id,
          `experiment ${id} has a run that is queued or running: cancel it first`,
        );
        const runs = this.db.prepare('DELETE FROM runs WHERE experiment_id = ?').run(id).changes;
        this.db.prepare('DELETE FROM experiments WHERE id = ?').run(id);
        return runs;
      })
      .immediate();
  }

  runCount(experimentId: string): number {
    return (
      this.db.prepare('SELECT COUNT(*) AS n FROM runs WHERE experiment_id = ?').get(experimentId) as { n: number }
    ).n;
  }

  lastRun(experimentId: string): RunRecord | null {
    const row = this.db
      .prepare('SELECT * FROM runs WHERE experiment_id = ? ORDER BY created_at DESC, rowid DESC LIMIT 1')
      .get(experimentId) as RunRow | undefined;
    return row ? toRun(row) : null;
  }

  // ---- runs ----

  createRun(experimentId: string, name: string, spec: { kind: ExperimentKind }): RunRecord {
    const id = `run-${randomUUID()}`;
    this.db
      .prepare(
        `INSERT INTO runs (id, experiment_id, name, kind, spec_json, status, created_at, owner_host, owner_pid, owner_token)
         VALUES (?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?)`,
      )
      .run(
        id,
        experimentId,
        name,
        spec.kind,
        JSON.stringify(spec),
        now(),
        THIS_PROCESS.host,
        THIS_PROCESS.pid,
        THIS_PROCESS.token,
      );
    return this.run(id);
  }

  findRun(id: string): RunRecord | null {
    const row = this.db.prepare('SELECT * FROM runs WHERE id = ?').get(id) as RunRow | undefined;
    return row ? toRun(row) : null;
  }

  run(id: string): RunRecord {
    const found = this.findRun(id);
    if (!found) throw notFound('run', id);
    return found;
  }

  listRuns(filter: { experimentId?: string; status?: readonly RunStatus[]; limit?: number } = {}): RunRecord[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (filter.experimentId) {
      where.push('experiment_id = ?');
      args.push(filter.experimentId);
    }
    if (filter.status && filter.status.length > 0) {
      where.push(`status IN (${filter.status.map(() => '?').join(', ')})`);
      args.push(...filter.status);
    }
    args.push(filter.limit ?? 200);
    const rows = this.db
      .prepare(
        `SELECT * FROM runs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, rowid DESC LIMIT ?`,
      )
      .all(...args) as RunRow[];
    return rows.map(toRun);
  }

  markRunning(id: string): RunRecord {
    this.db
      .prepare(
        `UPDATE runs SET status = 'running', started_at = ?, owner_host = ?, owner_pid = ?, owner_token = ?
         WHERE id = ? AND status = 'queued'`,
      )
      .run(now(), THIS_PROCESS.host, THIS_PROCESS.pid, THIS_PROCESS.token, id);
    return this.run(id);
  }

  /** Ends a run: its status, why (for failed/cancelled/interrupted), and its pins released. */
  finishRun(id: string, status: Exclude<RunStatus, 'queued' | 'running'>, error?: WorkbenchErrorData): RunRecord {
    this.db
      .transaction(() => {
        this.db
          .prepare(
            `UPDATE runs SET status = ?, finished_at = ?, error_code = ?, error_message = ?, progress_json = NULL
             WHERE id = ?`,
          )
          .run(status, now(), error?.code ?? null, error?.message ?? null, id);
        this.db.prepare('DELETE FROM cache_pins WHERE run_id = ?').run(id);
      })
      .immediate();
    return this.run(id);
  }

  saveProgress(id: string, progress: RunProgress): void {
    this.db
      .prepare(`UPDATE runs SET progress_json = ? WHERE id = ? AND status = 'running'`)
      .run(JSON.stringify(progress), id);
  }

  renameRun(id: string, name: string): RunRecord {
    if (this.db.prepare('UPDATE runs SET name = ? WHERE id = ?').run(name, id).changes === 0) throw notFound('run', id);
    return this.run(id);
  }

  deleteRun(id: string): void {
    this.db
      .transaction(() => {
        this.run(id);
        this.refuseIfActive(
          'SELECT COUNT(*) AS n FROM runs WHERE id = ? AND status IN (?, ?)',
          id,
          `run ${id} is queued or running: cancel it first`,
        );
        this.db.prepare('DELETE FROM runs WHERE id = ?').run(id);
      })
      .immediate();
  }

  /**
   * Runs left queued or running by a process that is gone become `interrupted`, with the reason;
   * their finished matrices stay. Returns the runs changed.
   */
  recoverInterrupted(): RunRecord[] {
    return this.db
      .transaction(() => {
        const rows = this.db.prepare(`SELECT * FROM runs WHERE status IN ('queued', 'running')`).all() as RunRow[];
        const changed: RunRecord[] = [];
        for (const row of rows) {
          if (ownerAlive({ host: row.owner_host, pid: row.owner_pid, token: row.owner_token })) continue;
          const stage = row.progress_json ? (JSON.parse(row.progress_json) as RunProgress).stage : null;
          const where = row.status === 'queued' ? 'before it started' : stage ? `during ${stage}` : 'while running';
          const message = `interrupted: the process running it (pid ${row.owner_pid ?? '?'}) stopped ${where}; finished pairs were kept`;
          changed.push(this.finishRun(row.id, 'interrupted', { code: 'CANCELLED', message }));
        }
        // Pins of runs that are not running any more protect nothing.
        this.db
          .prepare(`DELETE FROM cache_pins WHERE run_id NOT IN (SELECT id FROM runs WHERE status = 'running')`)
          .run();
        return changed;
      })
      .immediate();
  }

  // ---- results ----

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

  private refuseIfActive(sql: string, id: string, message: string): void {
    const { n } = this.db.prepare(sql).get(id, ...ACTIVE_STATUSES) as { n: number };
    if (n > 0) throw new WorkbenchError('BAD_INPUT', message);
  }
}

function notFound(what: string, id: string): WorkbenchError {
  return new WorkbenchError('NOT_FOUND', `no ${what} with id '${id}'`);
}
