import { describe, expect, it } from 'vitest';
import type { ModelSummary } from '../../app/api/contract.js';
import {
  MAX_RECENT,
  RECENT_KEY,
  forgetModel,
  loadRecent,
  rememberModel,
  saveRecent,
} from '../../renderer/src/lib/recent-models.js';

function memoryStorage(initial: Record<string, string> = {}) {
  const items = new Map(Object.entries(initial));
  return {
    getItem: (k: string) => items.get(k) ?? null,
    setItem: (k: string, v: string) => void items.set(k, v),
    items,
  };
}

const summary = (path: string, layers = 3) =>
  ({ path, fileName: path.split('/').at(-1)!, layers: Array.from({ length: layers }) }) as unknown as ModelSummary;

describe('recent models', () => {
  it('puts the newest first, without duplicates, at most MAX_RECENT', () => {
    let list = rememberModel([], summary('/m/a.onnx'), new Date('2026-01-01T00:00:00Z'));
    list = rememberModel(list, summary('/m/b.onnx', 5), new Date('2026-01-02T00:00:00Z'));
    list = rememberModel(list, summary('/m/a.onnx'), new Date('2026-01-03T00:00:00Z'));
    expect(list.map((m) => [m.fileName, m.layers, m.openedAt])).toEqual([
      ['a.onnx', 3, '2026-01-03T00:00:00.000Z'],
      ['b.onnx', 5, '2026-01-02T00:00:00.000Z'],
    ]);
    for (let i = 0; i < 20; i++) list = rememberModel(list, summary(`/m/${i}.onnx`), new Date());
    expect(list).toHaveLength(MAX_RECENT);
    expect(list[0]!.fileName).toBe('19.onnx');
    expect(forgetModel(list, '/m/19.onnx')[0]!.fileName).toBe('18.onnx');
  });

  it('round-trips through storage and drops what is malformed there', () => {
    const storage = memoryStorage();
    const list = rememberModel([], summary('/m/a.onnx'), new Date('2026-01-01T00:00:00Z'));
    saveRecent(storage, list);
    expect(loadRecent(storage)).toEqual(list);
    storage.items.set(RECENT_KEY, JSON.stringify([{ path: 3 }, list[0], 'x', null]));
    expect(loadRecent(storage)).toEqual(list);
    storage.items.set(RECENT_KEY, '{not json');
    expect(loadRecent(storage)).toEqual([]);
    expect(loadRecent(undefined)).toEqual([]);
  });

  it('survives storage that refuses to save', () => {
    const full = {
      setItem: () => {
        throw new Error('QuotaExceededError');
      },
    };
    expect(() => saveRecent(full, [])).not.toThrow();
  });
});
