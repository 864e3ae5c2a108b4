/**
 * The Grams (or CCA-family factors) a run holds in memory: each distinct layer's item is one object
 * (so the similarity engine sees a layer shared by both sides of a pair as one layer), kept while
 * it fits a byte budget and otherwise dropped, least recently used first, and read back from the
 * cache when a later pair needs it again.
 */
import type { LayerRef } from '../../common/contract.js';
import { WorkbenchError } from '../../common/errors.js';
import type { LayerFactors, LayerGram } from '../similarity/index.js';
import type { GramId, SpillStore } from '../store/gram-store.js';

export class LayerMemory<T extends { layer: LayerRef }> {
  private readonly held = new Map<string, T>();
  private bytes = 0;

  constructor(
    private readonly store: SpillStore<T>,
    private readonly runId: string,
    private readonly budgetBytes: number,
    private readonly bytesOf: (item: T) => number,
    private readonly what = 'Gram',
  ) {}

  put(id: GramId, item: T): void {
    const key = this.store.key(id);
    if (this.held.has(key)) return;
    this.held.set(key, item);
    this.bytes += this.bytesOf(item);
  }

  /** The items of `ids`, in order, loading those not held; others are dropped first if needed. */
  async get(ids: readonly GramId[]): Promise<T[]> {
    const keys = ids.map((id) => this.store.key(id));
    const wanted = new Set(keys);
    const out: T[] = [];
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
            `the ${this.what} of layer ${ids[i]!.tensor} left the cache during the run; run the experiment again`,
          );
        }
        gram = loaded;
        this.makeRoom(this.bytesOf(gram), wanted);
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
      this.bytes -= this.bytesOf(gram);
    }
  }

  /** Drops items beyond the budget after new ones were computed (keeping `keep`). */
  trim(keep: readonly GramId[]): void {
    this.makeRoom(0, new Set(keep.map((id) => this.store.key(id))));
  }
}

export type GramMemory = LayerMemory<LayerGram>;
export type FactorMemory = LayerMemory<LayerFactors>;

export const gramBytes = (g: LayerGram): number => g.gram.byteLength;
export const factorBytes = (f: LayerFactors): number =>
  f.u.byteLength + (f.projection?.byteLength ?? 0) + (f.rFactor?.byteLength ?? 0) + f.sigma.byteLength;
