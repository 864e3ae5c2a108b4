/**
 * One-off work outside the history (a compare of models) in the cache the runs use: the
 * activations it extracts are registered in the cache index (so `cache info` counts them and
 * eviction may remove them later), held while the work runs (so nothing evicts them under it, as a
 * running run's pins do), checked against the cache limit before they are written, and the cache
 * is brought back under its limit when the work ends.
 */
import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { ActivationCache } from '../activations/cache.js';
import type { CachedActivations, CacheOptions } from '../activations/engine.js';
import { activationKey, type CacheEntry, type CacheIndex } from '../store/cache-index.js';
import { gramPath } from './stream-exact.js';
import type { StreamedModel } from './stream-types.js';

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
    await this.add(entries);
  }

  /** Holds every layer's entries of a streaming compare (before it reads or writes any). */
  holdStreamed(models: readonly StreamedModel[], precision: string): void {
    this.index.hold(
      this.holder,
      models.flatMap((m) => m.layers.flatMap((l) => streamedKeys(m, l.key, precision))),
    );
  }

  /**
   * Records what a streaming compare found in the cache or kept there — narrow layers' activations
   * (in the model's cache folder's manifest), wide layers' Grams beside them — and holds them until
   * the compare ends (its files may still be read).
   */
  async registerStreamed(models: readonly StreamedModel[], cacheDir: string, precision: string): Promise<void> {
    const cache = new ActivationCache(cacheDir);
    const entries: Omit<CacheEntry, 'lastUsedAt'>[] = [];
    for (const m of models) {
      const { sha256 } = m.model;
      const probeHash = m.probe.hash;
      const found = await cache.lookup(
        sha256,
        probeHash,
        m.probe.n,
        m.layers.map((l) => ({ key: l.key, rows: l.rows })),
      );
      for (const l of m.layers) {
        const [activationEntry, gramEntry] = streamedKeys(m, l.key, precision);
        const files = [
          { key: activationEntry, kind: 'activation' as const, path: found.get(l.key)?.path },
          { key: gramEntry, kind: 'gram' as const, path: gramPath(cache, m, l, precision) },
        ];
        for (const { key, kind, path } of files) {
          const bytes = path === undefined ? null : await sizeOf(path);
          if (path !== undefined && bytes !== null) {
            entries.push({ key, kind, modelSha256: sha256, probeHash, tensor: l.tensor, path, bytes });
          }
        }
      }
    }
    this.index.hold(
      this.holder,
      entries.map((e) => e.key),
    );
    await this.add(entries);
  }

  /** Records the entries; rows that pointed at other files for them leave those files unreferenced, so they go. */
  private async add(entries: readonly Omit<CacheEntry, 'lastUsedAt'>[]): Promise<void> {
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

/** A streamed layer's two cache keys: its activations, and its Gram (its own key: the experiments' Gram store keeps the same layer's Gram in another file). */
function streamedKeys(m: StreamedModel, layerKey: string, precision: string): [string, string] {
  const { sha256 } = m.model;
  return [
    activationKey(sha256, m.probe.hash, layerKey),
    `gram:stream:${precision}:${sha256}:${m.probe.hash}:${layerKey}`,
  ];
}

async function sizeOf(path: string): Promise<number | null> {
  try {
    return (await fs.stat(path)).size;
  } catch {
    return null;
  }
}
