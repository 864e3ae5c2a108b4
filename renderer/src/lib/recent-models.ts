/**
 * The models opened recently, newest first, kept in the page's localStorage (the browser UI and
 * the Electron window alike; Electron's main process keeps its own list for the menu and the OS).
 */
import type { ModelSummary } from '@api/contract.js';

export interface RecentModel {
  path: string;
  fileName: string;
  layers: number;
  /** ISO time it was last opened. */
  openedAt: string;
}

export const RECENT_KEY = 'cka-workbench.recent-models';
export const MAX_RECENT = 10;

/** The stored list; anything malformed in storage is dropped rather than trusted. */
export function loadRecent(storage: Pick<Storage, 'getItem'> | undefined): RecentModel[] {
  try {
    const parsed = JSON.parse(storage?.getItem(RECENT_KEY) ?? '[]') as unknown;
    if (!Array.isArray(parsed)) return [];
    return parsed.filter(isRecentModel).slice(0, MAX_RECENT);
  } catch {
    return [];
  }
}

export function saveRecent(storage: Pick<Storage, 'setItem'> | undefined, list: readonly RecentModel[]): void {
  try {
    storage?.setItem(RECENT_KEY, JSON.stringify(list));
  } catch {
    // Storage full or disabled: the list is a convenience.
  }
}

export function rememberModel(list: readonly RecentModel[], model: ModelSummary, now: Date): RecentModel[] {
  const entry: RecentModel = {
    path: model.path,
    fileName: model.fileName,
    layers: model.layers.length,
    openedAt: now.toISOString(),
  };
  return [entry, ...list.filter((m) => m.path !== model.path)].slice(0, MAX_RECENT);
}

export function forgetModel(list: readonly RecentModel[], path: string): RecentModel[] {
  return list.filter((m) => m.path !== path);
}

function isRecentModel(value: unknown): value is RecentModel {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.path === 'string' &&
    typeof v.fileName === 'string' &&
    typeof v.layers === 'number' &&
    typeof v.openedAt === 'string'
  );
}
