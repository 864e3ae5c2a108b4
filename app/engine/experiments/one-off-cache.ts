/**
 * One-off work outside the history (a compare of models) in the cache the runs use: the
 * activations it extracts are registered in the cache index (so `cache info` counts them and
 * eviction may remove them later), held while the work runs (so nothing evicts them under it, as a
 * running run's pins do), checked against the cache limit before they are written, and the cache
 * is brought back under its limit when the work ends.
 */
import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import type { CachedActivations, CacheOptions } from '../activations/engine.js';
import { activationKey, type CacheIndex } from '../store/cache-index.js';

export class OneOffCacheUse {
  private readonly holder = `job:${randomUUID()}`;
  /** Bytes this work extracted into the cache so far (held: they count against the limit). */
  private written = 0;

  constructor(
    private readonly index: CacheIndex,
    private readonly onWarning: (message: string) => void,
  ) {}

  /** What ActivationEngine.cached needs to hold the layers and check the writes against the limit. */
  cacheOptions(): Pick<CacheOptions, 'hold' | 'room'> {
    return {
      hold: (modelSha256, probeHash, layerKeys) =>
        void this.index.hold(
          this.holder,
          layerKeys.map((key) => activationKey(modelSha256, probeHash, key)),
        ),
      room: {
        cacheLimitBytes: this.index.limitBytes(),
        alreadyBytes: this.written,
        where: "the workbench's cache",
        onWarning: this.onWarning,
      },
    };
  }

  /** Records a side's layers in the index (their files are complete: the extract dir's manifest lists them). */
  async register(cached: CachedActivations): Promise<void> {
    const extracted = new Set(cached.extracted);
    const entries = [];
    for (const layer of cached.layers) {
      const bytes = (await fs.stat(layer.path)).size;
      if (extracted.has(layer.tensor)) this.written += bytes;
      entries.push({
        key: activationKey(cached.model.sha256, cached.probe.hash, layer.key ?? layer.tensor),
        kind: 'activation' as const,
        modelSha256: cached.model.sha256,
        probeHash: cached.probe.hash,
        tensor: layer.tensor,
        path: layer.path,
        bytes,
      });
    }
    // Rows that pointed at other files for these layers: nothing refers to those files any more.
    const inUse = new Set(entries.map((e) => e.path));
    for (const replaced of this.index.add(entries)) {
      if (!inUse.has(replaced)) await fs.rm(replaced, { force: true });
    }
  }

  /** Ends the hold and evicts down to the limit (what the work used is now the most recently used). */
  async end(): Promise<void> {
    this.index.release(this.holder);
    await this.index.evict();
  }
}
