/**
 * Grams in the cache: each layer's centred Gram for one (model, probe, precision), spilled with
 * the CKA core's own format (cka/gram-cache.ts: packed float64 .npy + .json, both atomic) under a
 * file name unique to this write, then recorded in the index. A Gram is found only through its
 * row, so one being written (or left half-written by a crash) is never read.
 */
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { loadGram, saveGram, type LayerGram } from '../similarity/index.js';
import { entryFiles, gramKey, type CacheIndex } from './cache-index.js';

export interface GramId {
  modelSha256: string;
  probeHash: string;
  tensor: string;
  /** How the activations became rows (absent or `flatten`: the flattened values). */
  reduction?: string;
  precision: string;
}

export class GramStore {
  constructor(
    private readonly index: CacheIndex,
    /** The Gram directory (inside the data directory). */
    readonly dir: string,
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

  /** The cached Gram, or null (also when its file turned out missing or damaged: the row is dropped). */
  async load(runId: string, id: GramId): Promise<LayerGram | null> {
    const key = this.key(id);
    const entry = this.index.pinAndGet(runId, [key]).get(key);
    if (!entry) return null;
    try {
      const gram = await loadGram(entry.path);
      if (gram.layer.tensor !== id.tensor) throw new Error('the file holds another layer');
      return gram;
    } catch {
      this.index.forget(key);
      for (const file of entryFiles(entry)) await fs.rm(file, { force: true });
      return null;
    }
  }

  /** Spills the Grams (each atomically), then records them all in one transaction. */
  async save(runId: string, items: readonly { id: GramId; gram: LayerGram }[]): Promise<void> {
    const entries = [];
    for (const { id, gram } of items) {
      const tensorHash = createHash('sha256').update(id.tensor).digest('hex').slice(0, 16);
      const dir = join(this.dir, id.modelSha256.slice(0, 2), id.modelSha256, id.probeHash.slice(0, 16));
      const path = join(dir, `${tensorHash}-${id.precision}-${randomBytes(4).toString('hex')}.npy`);
      await saveGram(gram, path);
      const bytes = (await fs.stat(path)).size + (await fs.stat(path.replace(/\.npy$/, '.json'))).size;
      entries.push({
        key: this.key(id),
        kind: 'gram' as const,
        modelSha256: id.modelSha256,
        probeHash: id.probeHash,
        tensor: id.tensor,
        path,
        bytes,
      });
    }
    for (const replaced of this.index.add(entries, runId)) {
      for (const file of entryFiles({ kind: 'gram', path: replaced })) await fs.rm(file, { force: true });
    }
  }
}
