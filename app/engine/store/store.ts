/**
 * The workbench's persistent state in its data directory:
 *
 *   DATA/workbench.db    SQLite: experiments, runs (status, reason, progress), results, cache index,
 *                        library, model layouts, finished pair comparisons
 *   DATA/activations/    the activation cache (activations/cache.ts layout: one extract dir per model × probe)
 *   DATA/grams/          the Gram cache, and the CCA-family factors beside the Grams (gram-store.ts)
 *   DATA/exports/        files exported from the app
 *
 * Opening it recovers from a crash: runs left running by a dead process become `interrupted`
 * (finished matrices kept), stale pins are dropped, and leftovers of interrupted writes go.
 */
import { join } from 'node:path';
import { freeBytes } from '../io/disk-space.js';
import { CacheIndex, DEFAULT_CACHE_LIMIT_BYTES, defaultCacheLimit } from './cache-index.js';
import { openDatabase, type Db } from './database.js';
import { FileDigests } from './file-digests.js';
import { factorStore, gramStore, type FactorStore, type GramStore } from './gram-store.js';
import { HistoryStore, type RunRecord } from './history.js';
import { LayoutStore } from './layouts.js';
import { LibraryStore } from './library.js';
import { PairResultStore } from './pair-results.js';

export interface StoreOptions {
  /**
   * Default cache limit when none was set through the API (bytes); otherwise the smaller of 5 GiB
   * and a tenth of the data directory's disk space (cache-index.ts defaultCacheLimit).
   */
  cacheLimitBytes?: number;
  /** The free bytes of the data directory's disk (default: statfs; tests inject a figure). */
  freeBytes?: (dir: string) => Promise<number>;
  /** Leftover temp/orphan cache files younger than this are left alone (another process may be writing them). */
  sweepMinAgeMs?: number;
}

export interface StoreDirs {
  dataDir: string;
  database: string;
  activations: string;
  grams: string;
  exports: string;
}

export function storeDirs(dataDir: string): StoreDirs {
  return {
    dataDir,
    database: join(dataDir, 'workbench.db'),
    activations: join(dataDir, 'activations'),
    grams: join(dataDir, 'grams'),
    exports: join(dataDir, 'exports'),
  };
}

export class Store {
  readonly dirs: StoreDirs;
  readonly history: HistoryStore;
  readonly cache: CacheIndex;
  readonly grams: GramStore;
  readonly factors: FactorStore;
  readonly library: LibraryStore;
  readonly layouts: LayoutStore;
  readonly pairs: PairResultStore;
  readonly digests: FileDigests;
  /** Runs found interrupted when the store was opened. */
  readonly recovered: RunRecord[];

  private constructor(
    readonly db: Db,
    dataDir: string,
    private readonly options: StoreOptions,
  ) {
    this.dirs = storeDirs(dataDir);
    this.history = new HistoryStore(db);
    this.cache = new CacheIndex(db, dataDir, options.cacheLimitBytes ?? DEFAULT_CACHE_LIMIT_BYTES);
    this.grams = gramStore(this.cache, this.dirs.grams);
    this.factors = factorStore(this.cache, this.dirs.grams);
    this.library = new LibraryStore(db);
    this.layouts = new LayoutStore(db);
    this.pairs = new PairResultStore(db);
    this.digests = new FileDigests(db);
    this.recovered = this.history.recoverInterrupted();
  }

  static async open(dataDir: string, options: StoreOptions = {}): Promise<Store> {
    const db = openDatabase(storeDirs(dataDir).database);
    try {
      const store = new Store(db, dataDir, options);
      await store.refreshDefaultLimit();
      store.cache.dropDeadHolds();
      // Leftovers younger than minAge are spared, so sweeping more often than that finds little:
      // a command started every few seconds need not walk a large cache each time.
      const minAgeMs = options.sweepMinAgeMs ?? 10 * 60_000;
      if (store.cache.sweepDue(minAgeMs)) await store.cache.sweep(store.dirs, minAgeMs);
      return store;
    } catch (err) {
      // Recovery or the sweep failed: nobody gets the handle, so close it here.
      if (db.open) db.close();
      throw err;
    }
  }

  /**
   * Measures the disk again for the default limit (the one in force while the user has set none):
   * an app left open for days should not keep the figure of the morning it started. Cheap (one
   * statfs); done when the store opens, before each run's preflight and when the cache is shown.
   */
  async refreshDefaultLimit(): Promise<void> {
    if (this.options.cacheLimitBytes !== undefined) return;
    const free = await (this.options.freeBytes ?? freeBytes)(this.dirs.dataDir);
    this.cache.useDefaultLimit(defaultCacheLimit(free, this.cache.totalBytes()));
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
