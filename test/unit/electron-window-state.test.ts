import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_WINDOW_STATE, fitToWorkAreas, loadWindowState, parseWindowState } from '../../main/window-state.js';

const laptop = { x: 0, y: 0, width: 1440, height: 877 };
const external = { x: 1440, y: -200, width: 2560, height: 1400 };

describe('window state', () => {
  it('accepts only well-formed saved states', () => {
    expect(parseWindowState({ bounds: { x: 10.4, y: 20, width: 1200, height: 800 }, maximized: true })).toEqual({
      bounds: { x: 10, y: 20, width: 1200, height: 800 },
      maximized: true,
    });
    expect(parseWindowState({ bounds: { width: 1200, height: 800 } })).toEqual({
      bounds: { width: 1200, height: 800 },
      maximized: false,
    });
    for (const bad of [
      null,
      'x',
      {},
      { bounds: { width: 100, height: 800 } },
      { bounds: { width: 'wide', height: 800 } },
    ]) {
      expect(parseWindowState(bad)).toBeNull();
    }
    // A position that is not a pair of numbers is dropped, the size kept.
    expect(parseWindowState({ bounds: { x: null, y: 3, width: 900, height: 700 } })?.bounds).toEqual({
      width: 900,
      height: 700,
    });
  });

  it('keeps a position whose title bar is on a screen, and forgets one on a screen that is gone', () => {
    const onExternal = { bounds: { x: 2000, y: 100, width: 1600, height: 1000 }, maximized: false };
    expect(fitToWorkAreas(onExternal, [laptop, external]).bounds).toEqual(onExternal.bounds);
    // The external monitor was unplugged: centre on what is left, no bigger than it.
    expect(fitToWorkAreas(onExternal, [laptop]).bounds).toEqual({ width: 1440, height: 877 });
    // Title bar above the top of every screen: not reachable with the mouse.
    expect(
      fitToWorkAreas({ bounds: { x: 100, y: -500, width: 900, height: 700 }, maximized: false }, [laptop]).bounds,
    ).toEqual({
      width: 900,
      height: 700,
    });
  });

  it('falls back to defaults for a missing or corrupt file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ckawb-window-'));
    expect(loadWindowState(join(dir, 'none.json'), [external])).toEqual(DEFAULT_WINDOW_STATE);
    writeFileSync(join(dir, 'corrupt.json'), '{"bounds":');
    expect(loadWindowState(join(dir, 'corrupt.json'), [external])).toEqual(DEFAULT_WINDOW_STATE);
    writeFileSync(
      join(dir, 'saved.json'),
      JSON.stringify({ bounds: { x: 50, y: 40, width: 1300, height: 850 }, maximized: true }),
    );
    expect(loadWindowState(join(dir, 'saved.json'), [laptop])).toEqual({
      bounds: { x: 50, y: 40, width: 1300, height: 850 },
      maximized: true,
    });
  });
});
