/**
 * The workbench database: one SQLite file (better-sqlite3) in the data directory, in WAL mode so
 * readers (a second app, the CLI) never block the writer, `synchronous = FULL` so a committed
 * transaction survives a crash of the process or the machine, and a busy timeout so two
 * processes on one data directory wait for each other instead of failing. The schema is versioned
 * with `PRAGMA user_version` and migrated forward on open.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { WorkbenchError, toErrorData } from '../../common/errors.js';

export type Db = Database.Database;

/** Each entry moves the schema from version i to i + 1. */
const MIGRATIONS: string[] = [
  `
  CREATE TABLE experiments (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL,
    spec_json   TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
  );
  CREATE TABLE runs (
    id             TEXT PRIMARY KEY,
    experiment_id  TEXT NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    kind           TEXT NOT NULL,
    spec_json      TEXT NOT NULL,
    status         TEXT NOT NULL
                   CHECK (status IN ('queued','running','done','failed','cancelled','interrupted')),
    created_at     TEXT NOT NULL,
    started_at     TEXT,
    finished_at    TEXT,
    error_code     TEXT,
    error_message  TEXT,
    owner_host     TEXT,
    owner_pid      INTEGER,
    owner_token    TEXT,
    progress_json  TEXT
  );
  CREATE INDEX runs_by_experiment ON runs (experiment_id, created_at);
  CREATE INDEX runs_by_status ON runs (status);
  -- What a result is about, written as soon as the run knows it; matrices follow one row each.
  CREATE TABLE run_results (
    run_id           TEXT PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
    models_json      TEXT NOT NULL,
    probe_json       TEXT NOT NULL,
    seeds_json       TEXT,
    -- seeds: positions of the logits, left out of the sanity check
    layout_json      TEXT,
    partial          INTEGER NOT NULL,
    provenance_json  TEXT
  );
  CREATE TABLE run_matrices (
    run_id       TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    seq          INTEGER NOT NULL,
    matrix_json  TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
  );
  -- Files of the cache directory; a file is a cache entry only once its row exists.
  CREATE TABLE cache_entries (
    key           TEXT PRIMARY KEY,
    kind          TEXT NOT NULL CHECK (kind IN ('activation','gram')),
    model_sha256  TEXT NOT NULL,
    probe_hash    TEXT NOT NULL,
    tensor        TEXT NOT NULL,
    path          TEXT NOT NULL,
    bytes         INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER NOT NULL
  );
  CREATE INDEX cache_lru ON cache_entries (last_used_at);
  CREATE TABLE cache_pins (
    run_id  TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    key     TEXT NOT NULL,
    PRIMARY KEY (run_id, key)
  );
  CREATE TABLE library (
    path        TEXT PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('model','probe')),
    sha256      TEXT,
    size_bytes  INTEGER,
    detail_json TEXT,
    opened_at   TEXT NOT NULL
  );
  -- What a model offers for a layer selection (layers after the per-example check, graph outputs,
  -- input): derived from the file's content alone, so a re-run needs no onnxruntime session.
  CREATE TABLE model_layouts (
    model_sha256  TEXT NOT NULL,
    selection     TEXT NOT NULL,
    layout_json   TEXT NOT NULL,
    PRIMARY KEY (model_sha256, selection)
  );
  -- One pair's similarity for one measure, keyed by everything it depends on (model contents,
  -- layers, probe, measure, bootstrap, precision): a re-run reads it instead of computing it.
  CREATE TABLE pair_results (
    key           TEXT PRIMARY KEY,
    result_json   TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER NOT NULL
  );
  CREATE TABLE settings (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
  );
  `,
  // 1 → 2: runs get tags and a note, for finding them again in a long history.
  `
  ALTER TABLE runs ADD COLUMN note TEXT NOT NULL DEFAULT '';
  CREATE TABLE run_tags (
    run_id  TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    tag     TEXT NOT NULL,
    PRIMARY KEY (run_id, tag)
  );
  CREATE INDEX run_tags_by_tag ON run_tags (tag);
  CREATE INDEX runs_by_name ON runs (name);
  `,
  // 2 → 3: one-off work (a compare outside the history) holds the cache entries it uses, as a
  // running run's pins do; the owner columns let a later open drop holds of a process that died.
  `
  CREATE TABLE cache_holds (
    holder       TEXT NOT NULL,
    key          TEXT NOT NULL,
    owner_host   TEXT NOT NULL,
    owner_pid    INTEGER NOT NULL,
    owner_token  TEXT NOT NULL,
    PRIMARY KEY (holder, key)
  );
  `,
  // 3 → 4: a run that finished whole records the key of its inputs (experiments/run-inputs.ts),
  // so a later run with the same inputs takes its result instead of computing it; the files'
  // digests that key is made of are remembered by the files' identity (file-digests.ts).
  `
  ALTER TABLE runs ADD COLUMN input_key TEXT;
  CREATE INDEX runs_by_input_key ON runs (input_key) WHERE input_key IS NOT NULL;
  CREATE TABLE file_digests (
    path    TEXT PRIMARY KEY,
    stamp   TEXT NOT NULL,
    sha256  TEXT NOT NULL
  );
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** How long a write waits for another process's lock before SQLITE_BUSY. */
export const BUSY_TIMEOUT_MS = 10_000;

/**
 * Runs a write that is a courtesy (a running run's progress): it does not wait for another
 * process's lock — blocking the engine's thread up to the busy timeout for it would delay the
 * writes that matter — and fails at once instead, for the caller to skip.
 */
export function withoutWaiting<T>(db: Db, write: () => T): T {
  db.pragma('busy_timeout = 0');
  try {
    return write();
  } finally {
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  }
}

export function openDatabase(file: string): Db {
  mkdirSync(dirname(file), { recursive: true });
  let db: Db;
  try {
    db = new Database(file, { timeout: BUSY_TIMEOUT_MS });
  } catch (err) {
    throw openError(file, err);
  }
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    migrate(db, file);
  } catch (err) {
    db.close();
    if (err instanceof WorkbenchError) throw err;
    const message = (err as Error).message;
    if (/not a database|malformed/i.test(message)) {
      throw new WorkbenchError('INTERNAL', `${file} is not a readable workbench database (${message})`);
    }
    throw openError(file, err);
  }
  return db;
}

/**
 * An error of opening the database: known codes keep their mapping (common/errors.ts: SQLITE_BUSY is
 * TIMEOUT, SQLITE_FULL is DISK_FULL, …), anything else is INTERNAL.
 */
function openError(file: string, err: unknown): WorkbenchError {
  const known = toErrorData(err);
  const message = known.code === 'INTERNAL' ? (err as Error).message : known.message;
  return new WorkbenchError(known.code, `cannot open the workbench database ${file}: ${message}`);
}

function migrate(db: Db, file: string): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > SCHEMA_VERSION) {
    throw new WorkbenchError(
      'UNSUPPORTED',
      `${file} was written by a newer CKA Workbench (schema ${version}; this one knows ${SCHEMA_VERSION})`,
    );
  }
  for (let v = version; v < SCHEMA_VERSION; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    }).immediate();
  }
}
