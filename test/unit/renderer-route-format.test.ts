/** The location hash routes and how runs read (durations, ETA, throughput) in the renderer. */
import { describe, expect, it } from 'vitest';
import { formatRoute, parseRoute, type Route } from '../../renderer/src/lib/route.js';
import { formatClock, formatPercent, formatRate, runDuration } from '../../renderer/src/lib/run-format.js';

describe('routes', () => {
  it('round-trip through the hash', () => {
    const routes: Route[] = [
      { view: 'models' },
      { view: 'experiment' },
      { view: 'runs', runId: null },
      { view: 'runs', runId: 'run_01-ab' },
      { view: 'compare', runs: ['r1', 'r2'] },
      { view: 'compare', runs: ['r1', 'r2', 'r3', 'r4', 'r5', 'r6'] },
    ];
    for (const route of routes) expect(parseRoute(formatRoute(route))).toEqual(route);
  });

  it('falls back to the models view for anything else, and drops ids that are not ids', () => {
    expect(parseRoute('')).toEqual({ view: 'models' });
    expect(parseRoute('#/nowhere')).toEqual({ view: 'models' });
    expect(parseRoute('#/runs/..%2F..%2Fetc')).toEqual({ view: 'runs', runId: null });
    expect(parseRoute('#/compare/only-one')).toEqual({ view: 'models' });
    expect(parseRoute('#/compare/1/2/3/4/5/6/7')).toEqual({ view: 'models' });
    expect(parseRoute('#/compare/r1/..')).toEqual({ view: 'models' });
  });
});

describe('run figures', () => {
  it('keep their width as they count', () => {
    expect(formatClock(7)).toBe('0:07');
    expect(formatClock(65)).toBe('1:05');
    expect(formatClock(3729)).toBe('1:02:09');
    expect(formatClock(NaN)).toBe('–:––');
    expect(formatRate(1234.4)).toBe('1,234 ex/s');
    expect(formatRate(12.345)).toBe('12.3 ex/s');
    expect(formatRate(undefined)).toBe('– ex/s');
    expect(formatPercent(0.999)).toBe('99%');
    expect(formatPercent(1)).toBe('100%');
  });

  it('give a run’s duration, while it runs too', () => {
    expect(runDuration({ startedAt: '2026-01-01T00:00:00Z', finishedAt: '2026-01-01T00:00:12.34Z' })).toBe('12.3 s');
    expect(runDuration({ startedAt: '2026-01-01T00:00:00Z', finishedAt: '2026-01-01T00:04:05Z' })).toBe('4 min 05 s');
    expect(runDuration({ startedAt: '2026-01-01T00:00:00Z' }, Date.parse('2026-01-01T00:00:03Z'))).toBe('3.0 s');
    expect(runDuration({})).toBeNull();
  });
});
