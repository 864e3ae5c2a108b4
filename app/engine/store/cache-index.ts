/**
 * The index of the cache directory: one row per entry (a layer's activations or its Gram), its
 * size and when it was last used. A file is an entry only once its row exists, and rows are added
 * only after the file is complete and renamed into place, so nothing half-written is ever found.
 *
 * Size limit with LRU eviction: the least recently used entries go first, except those pinned by
 * a run that is running (pins are rows too, so another process on the same data directory sees
 * them). Rows go in one transaction, files after it; a crash in between leaves orphan files that
 * `sweep` removes, never a row without its file being noticed (lookups check the file).
 */
import { promises as fs } from 'node:fs';
import { basename, join, relative, resolve, sep } from 'node:path';
import type { CacheInfo, CacheKindUse } from '../../common/contract.js';
import { isTempName } from '../io/atomic.js';
import type { Db } from './database.js';
import { THIS_PROCESS, ownerAlive } from './owner.js';

export type CacheKind = 'activation' | 'gram';

export interface CacheEntry {
  key: string;
  kind: CacheKind;
  modelSha256: string;
  probeHash: string;
  tensor: string;
  /** Absolute path of the entry's main file (a Gram's .json sits beside its .npy). */
  path: string;
  bytes: number;
  lastUsedAt: number;
}

interface EntryRow {
  key: string;
  kind: CacheKind;
  model_sha256: string;
  probe_hash: string;
  tensor: string;
  path: string;
  bytes: number;
  last_used_at: number;
}

/** The default limit's ceiling: the smaller of this and a tenth of the disk's space (defaultCacheLimit). */
export const DEFAULT_CACHE_LIMIT_BYTES = 5 * 2 ** 30;
const LIMIT_SETTING = 'cache_limit_bytes';
const LAST_SWEEP_SETTING = 'cache_last_sweep_at';

/** The `precision` of cached CCA-family factors (always float64; the name versions the format). */
export const FACTORS_FORMAT = 'cca-factors64';

/**
 * The limit when the user set none: the smaller of 5 GiB and a tenth of the space the cache could
 * use — the disk's free space plus what the cache holds already (so the limit does not shrink as
 * the cache fills the disk it is measured on).
 */
export function defaultCacheLimit(freeBytes: number, cacheBytes = 0): number {
  return Math.min(DEFAULT_CACHE_LIMIT_BYTES, Math.floor(0.1 * (Math.max(0, freeBytes) + cacheBytes)));
}

/** Keys no eviction may remove: pinned by a running run, or held by live one-off work. */
const PROTECTED_KEYS = `SELECT p.key FROM cache_pins p JOIN runs r ON r.id = p.run_id WHERE r.status = 'running'
  UNION SELECT key FROM cache_holds`;

/** An entry's kind as `info` counts it: CCA-family factors are stored as Grams with their own precision. */
const KIND_OF_ROW = `CASE WHEN kind = 'gram' AND key LIKE 'gram:${FACTORS_FORMAT}:%' THEN 'factors' ELSE kind END`;

/** `layer` is the layer's key: its tensor, with the reduction unless `flatten` (activations/types.ts layerKey). */
export function activationKey(modelSha256: string, probeHash: string, layer: string): string {
  return `activation:${modelSha256}:${probeHash}:${layer}`;
}

export function gramKey(
  modelSha256: string,
  probeHash: string,
  tensor: string,
  precision: string,
  reduction?: string,
): string {
  const reduced = reduction && reduction !== 'flatten' ? `#${reduction}` : '';
  return `gram:${precision}:${modelSha256}:${probeHash}:${tensor}${reduced}`;
}

/** The files of an entry: a Gram is NAME.npy + NAME.json. */
export function entryFiles(entry: Pick<CacheEntry, 'kind' | 'path'>): string[] {
  return entry.kind === 'gram' ? [entry.path, entry.path.replace(/\.npy$/, '.json')] : [entry.path];
}

export class CacheIndex {
  constructor(
    private readonly db: Db,
    /** Entry paths are stored relative to this directory (the data directory). */
    private readonly root: string,
    private defaultLimit = DEFAULT_CACHE_LIMIT_BYTES,
  ) {}

  /** The limit in force while the user has set none (Store.open computes it from the disk's space). */
  useDefaultLimit(bytes: number): void {
    this.defaultLimit = bytes;
  }

  /** Bytes of every entry. */
  totalBytes(): number {
    return (this.db.prepare('SELECT COALESCE(SUM(bytes), 0) AS total FROM cache_entries').get() as { total: number })
      .total;
  }

  private toEntry(row: EntryRow): CacheEntry {
    return {
      key: row.key,
      kind: row.kind,
      modelSha256: row.model_sha256,
      probeHash: row.probe_hash,
      tensor: row.tensor,
      path: resolve(this.root, row.path),
      bytes: row.bytes,
      lastUsedAt: row.last_used_at,
    };
  }

  /**
   * Pins the keys for the run (so they cannot be evicted while the run uses them) and returns the
   * entries that exist, touched — all in one transaction.
   */
  pinAndGet(runId: string, keys: readonly string[]): Map<string, CacheEntry> {
    const pin = this.db.prepare('INSERT OR IGNORE INTO cache_pins (run_id, key) VALUES (?, ?)');
    return this.protectAndGet(keys, (key) => pin.run(runId, key));
  }

  /**
   * Holds the keys for one-off work outside the history (a compare) as a running run's pins do,
   * and returns the entries that exist, touched. `release` ends the hold; holds of a process that
   * died are dropped when a store is next opened (dropDeadHolds).
   */
  hold(holder: string, keys: readonly string[]): Map<string, CacheEntry> {
    const add = this.db.prepare(
      `INSERT OR IGNORE INTO cache_holds (holder, key, owner_host, owner_pid, owner_token) VALUES (?, ?, ?, ?, ?)`,
    );
    return this.protectAndGet(keys, (key) =>
      add.run(holder, key, THIS_PROCESS.host, THIS_PROCESS.pid, THIS_PROCESS.token),
    );
  }

  /** Protects each key (a pin or a hold) and returns the entries that exist, touched — one transaction. */
  private protectAndGet(keys: readonly string[], protect: (key: string) => void): Map<string, CacheEntry> {
    return this.db
      .transaction(() => {
        const find = this.db.prepare('SELECT * FROM cache_entries WHERE key = ?');
        const touch = this.db.prepare('UPDATE cache_entries SET last_used_at = ? WHERE key = ?');
        const found = new Map<string, CacheEntry>();
        const at = Date.now();
        for (const key of keys) {
          protect(key);
          const row = find.get(key) as EntryRow | undefined;
          if (!row) continue;
          touch.run(at, key);
          found.set(key, this.toEntry(row));
        }
        return found;
      })
      .immediate();
  }

  release(holder: string): void {
    this.db.prepare('DELETE FROM cache_holds WHERE holder = ?').run(holder);
  }

  /** Drops the holds of processes that are gone (they protect nothing any more). */
  dropDeadHolds(): void {
    const owners = this.db
      .prepare('SELECT DISTINCT owner_host AS host, owner_pid AS pid, owner_token AS token FROM cache_holds')
      .all() as { host: string; pid: number; token: string }[];
    const drop = this.db.prepare('DELETE FROM cache_holds WHERE owner_host = ? AND owner_pid = ? AND owner_token = ?');
    for (const owner of owners) if (!ownerAlive(owner)) drop.run(owner.host, owner.pid, owner.token);
  }

  get(key: string): CacheEntry | null {
    const row = this.db.prepare('SELECT * FROM cache_entries WHERE key = ?').get(key) as EntryRow | undefined;
    return row ? this.toEntry(row) : null;
  }

  /**
   * Records complete entries (pinned for `runId`), in one transaction. Returns the files of
   * entries they replaced, where those were other files, for the caller to delete.
   */
  add(entries: readonly Omit<CacheEntry, 'lastUsedAt'>[], runId?: string): string[] {
    return this.db
      .transaction(() => {
        const replaced: string[] = [];
        const at = Date.now();
        for (const entry of entries) {
          const old = this.db.prepare('SELECT path FROM cache_entries WHERE key = ?').get(entry.key) as
            { path: string } | undefined;
          const path = relative(this.root, entry.path).split(sep).join('/');
          this.db
            .prepare(
              `INSERT INTO cache_entries (key, kind, model_sha256, probe_hash, tensor, path, bytes, created_at, last_used_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (key) DO UPDATE SET path = excluded.path, bytes = excluded.bytes, last_used_at = excluded.last_used_at`,
            )
            .run(entry.key, entry.kind, entry.modelSha256, entry.probeHash, entry.tensor, path, entry.bytes, at, at);
          if (runId) {
            this.db.prepare('INSERT OR IGNORE INTO cache_pins (run_id, key) VALUES (?, ?)').run(runId, entry.key);
          }
          if (old && old.path !== path) replaced.push(resolve(this.root, old.path));
        }
        return replaced;
      })
      .immediate();
  }

  /** Drops an entry's row (its file turned out missing or unreadable). */
  forget(key: string): void {
    this.db.prepare('DELETE FROM cache_entries WHERE key = ?').run(key);
  }

  limitBytes(): number {
    const value = this.numberSetting(LIMIT_SETTING);
    return Number.isFinite(value) && value >= 0 ? value : this.defaultLimit;
  }

  /** Whether the user set the limit (otherwise it is the default). */
  limitIsSet(): boolean {
    return this.db.prepare('SELECT 1 FROM settings WHERE key = ?').get(LIMIT_SETTING) !== undefined;
  }

  /** The user's limit; null: back to the default. */
  setLimitBytes(bytes: number | null): void {
    if (bytes === null) {
      this.db.prepare('DELETE FROM settings WHERE key = ?').run(LIMIT_SETTING);
      return;
    }
    this.putSetting(LIMIT_SETTING, bytes);
  }

  /** A numeric setting, NaN when it is missing. */
  private numberSetting(key: string): number {
    const row = this.db.prepare('SELECT value FROM settings WHERE key = ?').get(key) as { value: string } | undefined;
    return row ? Number(row.value) : NaN;
  }

  private putSetting(key: string, value: number): void {
    this.db
      .prepare('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value')
      .run(key, String(value));
  }

  info(): CacheInfo {
    const byKind = this.db
      .prepare(
        `SELECT ${KIND_OF_ROW} AS kind, COUNT(*) AS entries, COALESCE(SUM(bytes), 0) AS bytes
         FROM cache_entries GROUP BY 1`,
      )
      .all() as { kind: keyof CacheInfo['byKind']; entries: number; bytes: number }[];
    const of = (kind: keyof CacheInfo['byKind']): CacheKindUse => {
      const row = byKind.find((r) => r.kind === kind);
      return { entries: row?.entries ?? 0, bytes: row?.bytes ?? 0 };
    };
    const kinds = { activation: of('activation'), gram: of('gram'), factors: of('factors') };
    // A model's name: the file it was last opened as (the library), when it was opened at all.
    const byModel = this.db
      .prepare(
        `SELECT e.model_sha256 AS sha, COUNT(*) AS entries, SUM(e.bytes) AS bytes,
           (SELECT l.path FROM library l WHERE l.sha256 = e.model_sha256 AND l.kind = 'model'
            ORDER BY l.opened_at DESC LIMIT 1) AS path
         FROM cache_entries e GROUP BY e.model_sha256 ORDER BY bytes DESC, sha`,
      )
      .all() as { sha: string; entries: number; bytes: number; path: string | null }[];
    const { pinned } = this.db
      .prepare(`SELECT COUNT(*) AS pinned FROM cache_entries WHERE key IN (${PROTECTED_KEYS})`)
      .get() as { pinned: number };
    const entries = kinds.activation.entries + kinds.gram.entries + kinds.factors.entries;
    const bytes = kinds.activation.bytes + kinds.gram.bytes + kinds.factors.bytes;
    return {
      dir: this.root,
      bytes,
      limitBytes: this.limitBytes(),
      limitIsSet: this.limitIsSet(),
      entries,
      byKind: kinds,
      activations: kinds.activation,
      grams: { entries: kinds.gram.entries + kinds.factors.entries, bytes: kinds.gram.bytes + kinds.factors.bytes },
      byModel: byModel.map((m) => ({
        modelSha256: m.sha,
        ...(m.path ? { name: basename(m.path) } : {}),
        bytes: m.bytes,
        entries: m.entries,
      })),
      pinned,
    };
  }

  /**
   * Removes least recently used entries until the cache fits `limitBytes` (default: the limit),
   * never one a running run has pinned. Rows first (one transaction), then files.
   */
  async evict(limitBytes = this.limitBytes()): Promise<CacheEntry[]> {
    const removed = this.db
      .transaction(() => {
        let { total } = this.db.prepare('SELECT COALESCE(SUM(bytes), 0) AS total FROM cache_entries').get() as {
          total: number;
        };
        if (total <= limitBytes) return [];
        const candidates = this.db
          .prepare(
            `SELECT * FROM cache_entries WHERE key NOT IN (${PROTECTED_KEYS})
             ORDER BY last_used_at, key`,
          )
          .all() as EntryRow[];
        const out: CacheEntry[] = [];
        const drop = this.db.prepare('DELETE FROM cache_entries WHERE key = ?');
        for (const row of candidates) {
          if (total <= limitBytes) break;
          drop.run(row.key);
          total -= row.bytes;
          out.push(this.toEntry(row));
        }
        return out;
      })
      .immediate();
    for (const entry of removed) {
      for (const file of entryFiles(entry)) await fs.rm(file, { force: true });
    }
    return removed;
  }

  /**
   * Whether a sweep is due: none in the last `intervalMs` (by any process on this data directory).
   * Records now as the last sweep when it says yes.
   */
  sweepDue(intervalMs: number, now = Date.now()): boolean {
    const last = this.numberSetting(LAST_SWEEP_SETTING);
    // a clock set back makes a "last sweep" in the future: sweep then too
    if (Number.isFinite(last) && now - last < intervalMs && now >= last) return false;
    this.putSetting(LAST_SWEEP_SETTING, now);
    return true;
  }

  /**
   * Deletes what no row refers to under the Gram directory, and temp files of interrupted writes
   * under every cache directory, when older than `minAgeMs` (a live process may still be writing
   * younger ones). Activation files without rows are kept: a run registers a model's layers only
   * once all are extracted (an extraction may outlast `minAgeMs`), and `compare` once its side is.
   */
  async sweep(dirs: { grams: string; activations: string }, minAgeMs: number): Promise<string[]> {
    const known = new Set(
      (this.db.prepare('SELECT kind, path FROM cache_entries').all() as { kind: CacheKind; path: string }[]).flatMap(
        (r) => entryFiles({ kind: r.kind, path: resolve(this.root, r.path) }),
      ),
    );
    const cutoff = Date.now() - minAgeMs;
    const removed: string[] = [];
    const visit = async (dir: string, orphansToo: boolean) => {
      let items;
      try {
        items = await fs.readdir(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const item of items) {
        const path = join(dir, item.name);
        if (item.isDirectory()) {
          await visit(path, orphansToo);
          continue;
        }
        if (!isTempName(item.name) && (!orphansToo || known.has(path))) continue;
        try {
          if ((await fs.stat(path)).mtimeMs > cutoff) continue;
          await fs.rm(path, { force: true });
          removed.push(path);
        } catch {
          // Gone already.
        }
      }
    };
    await visit(dirs.grams, true);
    await visit(dirs.activations, false);
    return removed;
  }
}
