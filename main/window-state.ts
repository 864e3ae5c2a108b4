/** Remembers the window's size, position and maximised state between runs. */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { BrowserWindow, Rectangle } from 'electron';

export interface WindowState {
  bounds: Partial<Rectangle> & { width: number; height: number };
  maximized: boolean;
}

const DEFAULT_STATE: WindowState = { bounds: { width: 1440, height: 900 }, maximized: false };

export function loadWindowState(file: string): WindowState {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as WindowState;
    const { width, height } = parsed.bounds;
    if (Number.isFinite(width) && Number.isFinite(height) && width >= 800 && height >= 600) return parsed;
  } catch {
    // first run or unreadable: defaults
  }
  return DEFAULT_STATE;
}

export function trackWindowState(window: BrowserWindow, file: string): void {
  const save = () => {
    const state: WindowState = { bounds: window.getNormalBounds(), maximized: window.isMaximized() };
    try {
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, JSON.stringify(state));
    } catch {
      // losing the window position is not worth interrupting the user for
    }
  };
  window.on('close', save);
}
