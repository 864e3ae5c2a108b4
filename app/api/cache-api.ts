/**
 * API methods over the cache of activations, Grams and CCA-family factors: what it holds (in all,
 * per kind and per model), its size limit, and emptying it. Entries a running run uses are never
 * removed (store/cache-index.ts).
 */
import type { WorkbenchApi } from '../common/contract.js';
import type { Store } from '../engine/store/store.js';
import type { CacheMethodName } from './method-groups.js';

export interface CacheDeps {
  store: () => Promise<Store>;
}

export function cacheMethods(deps: CacheDeps): Pick<WorkbenchApi, CacheMethodName> {
  return {
    getCacheInfo: async () => (await deps.store()).cache.info(),

    async setCacheLimit({ bytes }) {
      const store = await deps.store();
      store.cache.setLimitBytes(bytes);
      await store.cache.evict();
      return store.cache.info();
    },

    async clearCache() {
      const store = await deps.store();
      await store.cache.evict(0);
      store.pairs.clear();
      return store.cache.info();
    },
  };
}
