/**
 * The history list kept current from engine events and fetches that race them: a stale report
 * never brings an ended run back to running, and a fetch does not undo events that came meanwhile.
 */
import { describe, expect, it } from 'vitest';
import type { RunInfo, RunStatus } from '../../app/common/contract.js';
import { withFetched, withRun } from '../../renderer/src/lib/run-list.js';

const run = (id: string, status: RunStatus): RunInfo => ({
  id,
  experimentId: `e-${id}`,
  name: id,
  kind: 'pair',
  status,
  createdAt: '2026-11-27T10:00:00Z',
  tags: [],
  note: '',
});

describe('withRun', () => {
  it('adds new runs first and replaces known ones in place', () => {
    const list = [run('b', 'done'), run('a', 'done')];
    expect(withRun(list, run('c', 'queued')).map((r) => r.id)).toEqual(['c', 'b', 'a']);
    const updated = withRun([run('b', 'running'), run('a', 'done')], run('b', 'done'));
    expect(updated.map((r) => [r.id, r.status])).toEqual([
      ['b', 'done'],
      ['a', 'done'],
    ]);
  });

  it('ignores a report of an ended run as queued or running (an older answer arriving late)', () => {
    for (const ended of ['done', 'failed', 'cancelled', 'interrupted'] as const) {
      const list = [run('a', ended)];
      expect(withRun(list, run('a', 'running'))).toBe(list);
      expect(withRun(list, run('a', 'queued'))).toBe(list);
    }
    // but a queued run may start, and an ended one may be renamed
    expect(withRun([run('a', 'queued')], run('a', 'running'))[0]!.status).toBe('running');
    const renamed = { ...run('a', 'done'), name: 'renamed' };
    expect(withRun([run('a', 'done')], renamed)[0]!.name).toBe('renamed');
  });
});

describe('withFetched', () => {
  it('keeps what events reported while the fetch was under way', () => {
    // The fetch was answered before run b ended and before run c was created.
    const fetched = [run('b', 'running'), run('a', 'done')];
    const meanwhile = new Map([
      ['b', run('b', 'done')],
      ['c', run('c', 'queued')],
    ]);
    expect(withFetched(fetched, meanwhile).map((r) => [r.id, r.status])).toEqual([
      ['c', 'queued'],
      ['b', 'done'],
      ['a', 'done'],
    ]);
  });

  it('is the fetched list when nothing was reported', () => {
    const fetched = [run('b', 'running'), run('a', 'done')];
    expect(withFetched(fetched, new Map())).toEqual(fetched);
  });
});
