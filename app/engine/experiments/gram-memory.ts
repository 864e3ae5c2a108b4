/**
 * The Grams a run holds in memory: each distinct layer's Gram is one object (so the CKA core sees
 * a layer shared by both sides of a pair as one layer), kept while it fits a byte budget and
 * otherwise dropped, least recently used first, and read back from the Gram cache when a later
 * pair needs it again.
 */
import { WorkbenchError } from '../../common/errors.js';
import type { LayerGram } from '../similarity/index.js';
import type { GramId, GramStore } from '../store/gram-store.js';

export class GramMemory {
  private readonly held = new Map<string, LayerGram>();
  private bytes = 0;

  constructor(
    private readonly store: GramStore,
    private readonly runId: string,
    private readonly budgetBytes: number,
  ) {}

  put(id: GramId, gram: LayerGram): void {
    const key = this.store.key(id);
    if (this.held.has(key)) return;
    this.held.set(key, gram);
    this.bytes += gram.gram.byteLength;
  }

  /** The Grams of `ids`, in order, loading those not held; others are dropped first if needed. */
  async get(ids: readonly GramId[]): Promise<LayerGram[]> {
    const keys = ids.map((id) => this.store.key(id));
    const wanted = new Set(keys);
    const out: LayerGram[] = [];
    for (const [i, key] of keys.entries()) {
      let gram = this.held.get(key);
      if (gram) {
        // Most recently used last.
        this.held.delete(key);
        this.held.set(key, gram);
      } else {
        const loaded = await this.store.load(this.runId, ids[i]!);
        if (!loaded) {
          throw new WorkbenchError(
            'INTERNAL',
            `the Gram of layer ${ids[i]!.tensor} left the cache during the run; run the experiment again`,
          );
        }
        gram = loaded;
        this.makeRoom(gram.gram.byteLength, wanted);
        this.put(ids[i]!, gram);
      }
      out.push(gram);
    }
    return out;
  }

  has(id: GramId): boolean {
    return this.held.has(this.store.key(id));
  }

  private makeRoom(bytes: number, keep: ReadonlySet<string>): void {
    for (const [key, gram] of this.held) {
      if (this.bytes + bytes <= this.budgetBytes) return;
      if (keep.has(key)) continue;
      this.held.delete(key);
      this.bytes -= gram.gram.byteLength;
    }
  }

  /** Drops Grams beyond the budget after new ones were computed (keeping `keep`). */
  trim(keep: readonly GramId[]): void {
    this.makeRoom(0, new Set(keep.map((id) => this.store.key(id))));
  }
}
