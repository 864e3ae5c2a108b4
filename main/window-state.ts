/**
 * Remembers the window's size, position and maximised state between runs, and never restores a
 * window where no screen is any more (an unplugged monitor would otherwise hide the app).
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { BrowserWindow, Rectangle } from 'electron';

export interface WindowState {
  bounds: Partial<Rectangle> & { width: number; height: number };
  maximized: boolean;
}

export const DEFAULT_WINDOW_STATE: WindowState = { bounds: { width: 1440, height: 900 }, maximized: false };
const MIN_WIDTH = 800;
const MIN_HEIGHT = 600;
/** How much of the title bar must lie on a screen for a saved position to be kept. */
const VISIBLE_TITLE_BAR = { width: 120, height: 32 };
const SAVE_DELAY_MS = 500;

/** A saved state if it is well-formed, otherwise null. */
export function parseWindowState(value: unknown): WindowState | null {
  if (typeof value !== 'object' || value === null) return null;
  const { bounds, maximized } = value as { bounds?: Record<string, unknown>; maximized?: unknown };
  if (typeof bounds !== 'object' || bounds === null) return null;
  const { x, y, width, height } = bounds;
  const finite = (n: unknown): n is number => typeof n === 'number' && Number.isFinite(n);
  if (!finite(width) || !finite(height) || width < MIN_WIDTH || height < MIN_HEIGHT) return null;
  const position = finite(x) && finite(y) ? { x: Math.round(x), y: Math.round(y) } : {};
  return {
    bounds: { ...position, width: Math.round(width), height: Math.round(height) },
    maximized: maximized === true,
  };
}

/** Keeps the saved position only if the title bar is on some screen; never larger than the largest screen. */
export function fitToWorkAreas(state: WindowState, workAreas: readonly Rectangle[]): WindowState {
  if (workAreas.length === 0) return state;
  const largest = workAreas.reduce((a, b) => (b.width * b.height > a.width * a.height ? b : a));
  const width = Math.min(state.bounds.width, largest.width);
  const height = Math.min(state.bounds.height, largest.height);
  const { x, y } = state.bounds;
  if (x === undefined || y === undefined) return { ...state, bounds: { width, height } };
  const onScreen = workAreas.some((area) => {
    const overlapX = Math.min(x + width, area.x + area.width) - Math.max(x, area.x);
    const overlapY = Math.min(y + VISIBLE_TITLE_BAR.height, area.y + area.height) - Math.max(y, area.y);
    return overlapX >= VISIBLE_TITLE_BAR.width && overlapY >= VISIBLE_TITLE_BAR.height;
  });
  return { ...state, bounds: onScreen ? { x, y, width, height } : { width, height } };
}

export function loadWindowState(file: string, workAreas: readonly Rectangle[]): WindowState {
  let saved: WindowState | null = null;
  try {
    saved = parseWindowState(JSON.parse(readFileSync(file, 'utf8')));
  } catch {
    // first run or unreadable: defaults
  }
  return fitToWorkAreas(saved ?? DEFAULT_WINDOW_STATE, workAreas);
}

/** Saves the state when the window closes and shortly after it is moved or resized (a crash keeps it too). */
export function trackWindowState(window: BrowserWindow, file: string): void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const save = () => {
    clearTimeout(timer);
    if (window.isDestroyed()) return;
    const state: WindowState = { bounds: window.getNormalBounds(), maximized: window.isMaximized() };
    try {
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, JSON.stringify(state));
    } catch {
      // losing the window position is not worth interrupting the user for
    }
  };
  const saveSoon = () => {
    clearTimeout(timer);
    timer = setTimeout(save, SAVE_DELAY_MS);
  };
  window.on('resize', saveSoon);
  window.on('move', saveSoon);
  window.on('maximize', saveSoon);
  window.on('unmaximize', saveSoon);
  window.on('close', save);
}
