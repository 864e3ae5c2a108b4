/**
 * Experiments, runs and results in the database. A run's result is written as it grows: its
 * header (models, probe) once the run knows them, then one row per finished matrix, each in its
 * own transaction (run-results.ts) — so whatever a run finished survives a crash, and a result is
 * read back by joining the pieces (results.ts in experiments/ assembles them). Runs carry unique
 * names, tags and a note (run-labels.ts), and are found by id prefix or a search (run-search.ts).
 */
import { randomUUID } from 'node:crypto';
import type {
  ExperimentKind,
  RunInfo,
  RunProgress,
  RunStatus,
  WorkbenchErrorData,
  ErrorCode,
} from '../../common/contract.js';
import { WorkbenchError } from '../../common/errors.js';
import { stoppedReason } from '../../common/run-stages.js';
import { withoutWaiting, type Db } from './database.js';
import { THIS_PROCESS, ownerAlive } from './owner.js';
import { checkNote, freeRunName, refuseTakenName, writeTags } from './run-labels.js';
import { RunResults, type StoredResultParts } from './run-results.js';
import { matchesSearch, parseSearch } from './run-search.js';

export type { StoredResultParts } from './run-results.js';

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
  note: string;
  /** JSON array of the run's tags, sorted (a subquery of RUN_COLUMNS). */
  tags_json: string;
}

/** A run that finished whole with the input key bound as the (next) parameter. */
const SAME_INPUTS = `input_key = ? AND status = 'done'
  AND EXISTS (SELECT 1 FROM run_results WHERE run_id = runs.id AND partial = 0)`;

/** A run's row with its tags. */
const RUN_COLUMNS = `runs.*, (SELECT json_group_array(tag) FROM (SELECT tag FROM run_tags
  WHERE run_tags.run_id = runs.id ORDER BY tag)) AS tags_json`;

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
    tags: JSON.parse(row.tags_json) as string[],
    note: row.note,
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
  private readonly results: RunResults;

  constructor(private readonly db: Db) {
    this.results = new RunResults(db);
  }

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
      .prepare(`SELECT ${RUN_COLUMNS} FROM runs WHERE experiment_id = ? ORDER BY created_at DESC, rowid DESC LIMIT 1`)
      .get(experimentId) as RunRow | undefined;
    return row ? toRun(row) : null;
  }

  // ---- runs ----

  /**
   * Queues a new run. Its name is made unique in the history: a name another run has gets the
   * first free " (2)", " (3)", …
   */
  createRun(experimentId: string, name: string, spec: { kind: ExperimentKind }): RunRecord {
    const id = `run-${randomUUID()}`;
    this.db.transaction(() => this.insertRun(id, experimentId, name, spec, 'queued')).immediate();
    return this.run(id);
  }

  private insertRun(
    id: string,
    experimentId: string,
    name: string,
    spec: { kind: ExperimentKind },
    status: 'queued' | 'done',
  ): void {
    const at = now();
    this.db
      .prepare(
        `INSERT INTO runs (id, experiment_id, name, kind, spec_json, status, created_at, started_at, finished_at,
           owner_host, owner_pid, owner_token)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        id,
        experimentId,
        freeRunName(this.db, name),
        spec.kind,
        JSON.stringify(spec),
        status,
        at,
        status === 'done' ? at : null,
        status === 'done' ? at : null,
        THIS_PROCESS.host,
        THIS_PROCESS.pid,
        THIS_PROCESS.token,
      );
  }

  /** Records the key of a run's inputs (experiments/run-inputs.ts): set once the run finished whole. */
  recordInputKey(id: string, key: string): void {
    this.db.prepare('UPDATE runs SET input_key = ? WHERE id = ?').run(key, id);
  }

  /** No run is taken as having any inputs again (clearing the cache: everything is recomputed). */
  forgetInputKeys(): void {
    this.db.prepare('UPDATE runs SET input_key = NULL WHERE input_key IS NOT NULL').run();
  }

  /** The newest run that finished whole with these inputs, or null. */
  sameInputsRun(key: string): RunRecord | null {
    const row = this.db
      .prepare(`SELECT ${RUN_COLUMNS} FROM runs WHERE ${SAME_INPUTS} ORDER BY created_at DESC, rowid DESC LIMIT 1`)
      .get(key) as RunRow | undefined;
    return row ? toRun(row) : null;
  }

  /**
   * A run of a new experiment of `spec` that takes the whole result of `earlier` (a run that
   * finished whole with the input key `key`), in one transaction: done at once, with the
   * provenance `provenanceOf` makes of the earlier run's, and the same key. Null, writing
   * nothing, when the earlier run is no longer such a run (deleted meanwhile, say).
   */
  repeatRun(
    earlier: RunRecord,
    key: string,
    spec: { name: string; kind: ExperimentKind },
    provenanceOf: (earlier: StoredResultParts['provenance']) => NonNullable<StoredResultParts['provenance']>,
  ): RunRecord | null {
    const id = `run-${randomUUID()}`;
    const written = this.db
      .transaction(() => {
        if (!this.db.prepare(`SELECT 1 FROM runs WHERE id = ? AND ${SAME_INPUTS}`).get(earlier.id, key)) return false;
        const experiment = this.createExperiment(spec);
        this.insertRun(id, experiment.id, spec.name, spec, 'done');
        this.recordInputKey(id, key);
        this.results.copyResult(earlier.id, id, provenanceOf(this.results.provenance(earlier.id)));
        return true;
      })
      .immediate();
    return written ? this.run(id) : null;
  }

  findRun(id: string): RunRecord | null {
    const row = this.db.prepare(`SELECT ${RUN_COLUMNS} FROM runs WHERE id = ?`).get(id) as RunRow | undefined;
    return row ? toRun(row) : null;
  }

  run(id: string): RunRecord {
    const found = this.findRun(id);
    if (!found) throw notFound('run', id);
    return found;
  }

  /**
   * Runs newest first, filtered by experiment, status, id prefix and a search (run-search.ts),
   * at most `limit` (default 200) of those that match.
   */
  listRuns(
    filter: {
      experimentId?: string;
      status?: readonly RunStatus[];
      search?: string;
      idPrefix?: string;
      limit?: number;
    } = {},
  ): RunRecord[] {
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
    if (filter.idPrefix) {
      // `LIKE` would read % and _ in the prefix as wildcards: compare the start instead.
      const prefix = filter.idPrefix;
      where.push('(substr(id, 1, ?) = ? OR substr(id, 1, ?) = ?)');
      args.push(prefix.length, prefix, prefix.length + 4, `run-${prefix}`);
    }
    const limit = filter.limit ?? 200;
    const terms = parseSearch(filter.search ?? '');
    const sql = `SELECT ${RUN_COLUMNS} FROM runs ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY created_at DESC, rowid DESC`;
    if (terms.length === 0) {
      return (this.db.prepare(`${sql} LIMIT ?`).all(...args, limit) as RunRow[]).map(toRun);
    }
    // The search reads each run's spec: rows are walked newest first until `limit` match.
    const found: RunRecord[] = [];
    for (const row of this.db.prepare(sql).iterate(...args) as IterableIterator<RunRow>) {
      const run = toRun(row);
      if (!matchesSearch(run, terms)) continue;
      found.push(run);
      if (found.length >= limit) break;
    }
    return found;
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

  /** A courtesy write: while another process holds the database, it fails at once (withoutWaiting). */
  saveProgress(id: string, progress: RunProgress): void {
    withoutWaiting(this.db, () =>
      this.db
        .prepare(`UPDATE runs SET progress_json = ? WHERE id = ? AND status = 'running'`)
        .run(JSON.stringify(progress), id),
    );
  }

  /** Renames a run; BAD_INPUT when another run has that name. */
  renameRun(id: string, name: string): RunRecord {
    this.db
      .transaction(() => {
        this.run(id);
        refuseTakenName(this.db, name, id);
        this.db.prepare('UPDATE runs SET name = ? WHERE id = ?').run(name, id);
      })
      .immediate();
    return this.run(id);
  }

  /** Adds and removes tags (see run-labels.ts for what a tag is). */
  tagRun(id: string, change: { add?: readonly string[]; remove?: readonly string[] }): RunRecord {
    this.db.transaction(() => writeTags(this.db, this.run(id), change)).immediate();
    return this.run(id);
  }

  setNote(id: string, note: string): RunRecord {
    checkNote(note);
    if (this.db.prepare('UPDATE runs SET note = ? WHERE id = ?').run(note, id).changes === 0) throw notFound('run', id);
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
        const rows = this.db
          .prepare(`SELECT ${RUN_COLUMNS} FROM runs WHERE status IN ('queued', 'running')`)
          .all() as RunRow[];
        const changed: RunRecord[] = [];
        for (const row of rows) {
          if (ownerAlive({ host: row.owner_host, pid: row.owner_pid, token: row.owner_token })) continue;
          const stage = row.progress_json ? (JSON.parse(row.progress_json) as RunProgress).stage : 'prepare';
          const message = stoppedReason(
            `interrupted: the process running it (pid ${row.owner_pid ?? '?'}) stopped`,
            row.status === 'queued' ? null : stage,
            this.results.finishedPairs(row.id),
          );
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

  // ---- results (run-results.ts) ----

  writeResultHeader(...args: Parameters<RunResults['writeResultHeader']>): void {
    this.results.writeResultHeader(...args);
  }

  /** Adds finished matrices (numbered from `firstSeq`) in one transaction: all of them or none. */
  appendMatrices(...args: Parameters<RunResults['appendMatrices']>): void {
    this.results.appendMatrices(...args);
  }

  finishResult(...args: Parameters<RunResults['finishResult']>): void {
    this.results.finishResult(...args);
  }

  resultParts(runId: string): StoredResultParts | null {
    return this.results.resultParts(runId);
  }

  private refuseIfActive(sql: string, id: string, message: string): void {
    const { n } = this.db.prepare(sql).get(id, ...ACTIVE_STATUSES) as { n: number };
    if (n > 0) throw new WorkbenchError('BAD_INPUT', message);
  }
}

function notFound(what: string, id: string): WorkbenchError {
  return new WorkbenchError('NOT_FOUND', `no ${what} with id '${id}'`);
}
