/**
 * A group of API methods whose module is imported on the first call of any of them. The
 * workbench is made of such groups, so a shell that calls one method loads only its group: the
 * CLI's `inspect` never loads the CKA engine, the database or the experiment runner.
 */
import type { ApiMethodName, WorkbenchApi } from '../common/contract.js';

export function lazyMethods<K extends ApiMethodName>(
  names: readonly K[],
  load: () => Promise<Pick<WorkbenchApi, K>>,
  /** Receives the group's loader, so a long-lived shell can import every group ahead of its first call. */
  register?: (preload: () => Promise<unknown>) => void,
): Pick<WorkbenchApi, K> {
  let loading: Promise<Pick<WorkbenchApi, K>> | null = null;
  const loaded = () => {
    if (loading) return loading;
    const started = load();
    // A failed import is not remembered: the next call tries again.
    started.catch(() => {
      if (loading === started) loading = null;
    });
    return (loading = started);
  };
  register?.(loaded);
  const methods = {} as Record<K, (request: never) => Promise<unknown>>;
  for (const name of names) {
    methods[name] = async (request: never) => {
      const group = (await loaded()) as Record<K, (request: never) => Promise<unknown>>;
      return group[name](request);
    };
  }
  return methods as unknown as Pick<WorkbenchApi, K>;
}
