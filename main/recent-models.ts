/**
 * The desktop's list of recent models (for the File menu and the OS's recent documents), kept as
 * JSON in the app's data directory. Every model the window opens is added, however it was opened.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export const MAX_RECENT = 10;

export function readRecent(file: string): string[] {
  try {
    const list = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    return Array.isArray(list) ? list.filter((p): p is string => typeof p === 'string').slice(0, MAX_RECENT) : [];
  } catch {
    return [];
  }
}

/** Puts `path` first; returns the new list. */
export function rememberRecent(file: string, path: string): string[] {
  const list = [path, ...readRecent(file).filter((p) => p !== path)].slice(0, MAX_RECENT);
  writeRecent(file, list);
  return list;
}

export function clearRecent(file: string): void {
  writeRecent(file, []);
}

function writeRecent(file: string, list: string[]): void {
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify(list));
  } catch {
    // the recent list is a convenience
  }
}
