/**
 * Grams in the cache: each layer's centred Gram for one (model, probe, precision), spilled with
 * the CKA core's own format (similarity/gram-cache.ts: packed .npy, float32 when that holds it exactly, + .json, both atomic)
 * under a file name unique to this write, then recorded in the index. A Gram is found only through
 * its row, so one being written (or left half-written by a crash) is never read. A layer's
 * CCA-family factors (similarity/factor-cache.ts) are kept the same way, beside the Grams, with
 * `precision` naming their format.
 */
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { LayerRef } from '../../common/contract.js';
import type { LayerFactors } from '../similarity/factors.js';
import type { LayerGram } from '../similarity/grams.js';
import { FACTORS_FORMAT, entryFiles, gramKey, type CacheIndex } from './cache-index.js';

export interface GramId {
  modelSha256: string;
  probeHash: string;
  tensor: string;
  /** How the activations became rows (absent or `flatten`: the flattened values). */
  reduction?: string;
  /** `float32`/`float64` for Grams; FACTORS_FORMAT for CCA-family factors. */
  precision: string;
}

/** The `precision` of cached CCA-family factors (cache-index.ts counts them as their own kind). */
export { FACTORS_FORMAT };

const SAVES_AT_ONCE = 4;

/** One layer's spillable item (a Gram or its factors) with how it is written and read. */
interface Spill<T extends { layer: LayerRef }> {
  save: (item: T, path: string) => Promise<void>;
  load: (path: string) => Promise<T>;
}

export class SpillStore<T extends { layer: LayerRef }> {
  constructor(
    private readonly index: CacheIndex,
    /** The Gram directory (inside the data directory). */
    readonly dir: string,
    private readonly spill: Spill<T>,
  ) {}

  key(id: GramId): string {
    return gramKey(id.modelSha256, id.probeHash, id.tensor, id.precision, id.reduction);
  }

  /** Which of `ids` are cached (all pinned for `runId` from now on). */
  cached(runId: string, ids: readonly GramId[]): boolean[] {
    const found = this.index.pinAndGet(
      runId,
      ids.map((id) => this.key(id)),
    );
    return ids.map((id) => found.has(this.key(id)));
  }

  /** The cached item, or null (also when its file turned out missing or damaged: the row is dropped). */
  async load(runId: string, id: GramId): Promise<T | null> {
    const key = this.key(id);
    const entry = this.index.pinAndGet(runId, [key]).get(key);
    if (!entry) return null;
    try {
      const item = await this.spill.load(entry.path);
      if (item.layer.tensor !== id.tensor) throw new Error('the file holds another layer');
      return item;
    } catch {
      this.index.forget(key);
      for (const file of entryFiles(entry)) await fs.rm(file, { force: true });
      return null;
    }
  }

  /** Spills the items (each atomically), then records them all in one transaction. */
  async save(runId: string, items: readonly { id: GramId; item: T }[]): Promise<void> {
    const saveOne = async ({ id, item }: { id: GramId; item: T }) => {
      const tensorHash = createHash('sha256').update(id.tensor).digest('hex').slice(0, 16);
      const dir = join(this.dir, id.modelSha256.slice(0, 2), id.modelSha256, id.probeHash.slice(0, 16));
      const path = join(dir, `${tensorHash}-${id.precision}-${randomBytes(4).toString('hex')}.npy`);
      await this.spill.save(item, path);
      const bytes = (await fs.stat(path)).size + (await fs.stat(path.replace(/\.npy$/, '.json'))).size;
      return {
        key: this.key(id),
        kind: 'gram' as const,
        modelSha256: id.modelSha256,
        probeHash: id.probeHash,
        tensor: id.tensor,
        path,
        bytes,
      };
    };
    // A few at once: their fsyncs overlap (three 16 MB Grams: ~50 ms, against ~140 one after
    // another), while the copies each write makes stay few.
    const entries = [];
    for (let i = 0; i < items.length; i += SAVES_AT_ONCE) {
      // Every write of a group ends (or removes its temp file) before a failure is reported.
      const settled = await Promise.allSettled(items.slice(i, i + SAVES_AT_ONCE).map(saveOne));
      for (const s of settled) {
        if (s.status === 'rejected') throw s.reason;
        entries.push(s.value);
      }
    }
    for (const replaced of this.index.add(entries, runId)) {
      for (const file of entryFiles({ kind: 'gram', path: replaced })) await fs.rm(file, { force: true });
    }
  }
}

export type GramStore = SpillStore<LayerGram>;
export type FactorStore = SpillStore<LayerFactors>;

// The file formats are imported when a spill is first written or read: opening the store (all a
// repeated run needs) loads neither them nor anything of the CKA engine.
const gramFiles = () => import('../similarity/gram-cache.js');
const factorFiles = () => import('../similarity/factor-cache.js');

export function gramStore(index: CacheIndex, dir: string): GramStore {
  return new SpillStore<LayerGram>(index, dir, {
    save: async (gram, path) => (await gramFiles()).saveGram(gram, path),
    load: async (path) => (await gramFiles()).loadGram(path),
  });
}

export function factorStore(index: CacheIndex, dir: string): FactorStore {
  return new SpillStore<LayerFactors>(index, dir, {
    save: async (factors, path) => (await factorFiles()).saveFactors(factors, path),
    load: async (path) => (await factorFiles()).loadFactors(path),
  });
}
