/**
 * API methods over the cache of activations, Grams and CCA-family factors: what it holds (in all,
 * per kind and per model), its size limit, and emptying it. Entries a running run uses are never
 * removed (store/cache-index.ts).
 */
import type { CacheInfo, WorkbenchApi } from '../common/contract.js';
import { nameCachedModels } from '../engine/store/cache-names.js';
import type { Store } from '../engine/store/store.js';
import type { CacheMethodName } from './method-groups.js';

export interface CacheDeps {
  store: () => Promise<Store>;
}

/** The index's figures, with the models the library does not know named from their extract manifests. */
const infoOf = (store: Store): Promise<CacheInfo> => nameCachedModels(store.cache.info(), store.dirs.activations);

export function cacheMethods(deps: CacheDeps): Pick<WorkbenchApi, CacheMethodName> {
  return {
    async getCacheInfo() {
      const store = await deps.store();
      await store.refreshDefaultLimit();
      return infoOf(store);
    },

    async setCacheLimit({ bytes }) {
      const store = await deps.store();
      store.cache.setLimitBytes(bytes);
      await store.cache.evict();
      return infoOf(store);
    },

    async clearCache() {
      const store = await deps.store();
      await store.cache.evict(0);
      store.pairs.clear();
      // Runs of the same inputs would take their results again: all is recomputed, as promised.
      store.history.forgetInputKeys();
      return infoOf(store);
    },
  };
}
