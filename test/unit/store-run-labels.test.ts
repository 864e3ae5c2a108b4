/**
 * A history that scales: run names unique by default ("name (2)"), renames refused onto a taken
 * name, tags and notes, search by name, model, measure, probe, tag and note, ids by prefix, and
 * the schema migration that adds tags and notes to an existing database.
 */
import { afterEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import type { ExperimentSpec } from '../../app/common/contract.js';
import { SCHEMA_VERSION } from '../../app/engine/store/database.js';
import { Store } from '../../app/engine/store/store.js';
import { removeTempDataDirs, tempDataDir } from '../helpers/experiments.js';

const stores: Store[] = [];
async function open(dir = tempDataDir('ckawb-labels-')): Promise<Store> {
  const store = await Store.open(dir);
  stores.push(store);
  return store;
}
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
  removeTempDataDirs();
});

const spec = (name: string, models: string[], measures: string[], probe = 'fashion-mnist:500'): ExperimentSpec => ({
  name,
  kind: models.length === 1 ? 'self' : 'pair',
  models: models.map((m) => ({ path: `/zoo/${m}.onnx`, label: m === 'vgg-s0' ? 'VGG seed 0' : undefined })),
  probe,
  layers: 'all',
  measures,
});

/** Three runs, oldest first: names as given (the third repeats the first). */
async function history() {
  const store = await open();
  const h = store.history;
  const make = (s: ExperimentSpec) => h.createRun(h.createExperiment(s).id, s.name, s);
  const a = make(spec('depth study', ['plain-d1-s0', 'plain-d8-s0'], ['linear', 'rbf:0.4']));
  const b = make(spec('vgg self', ['vgg-s0'], ['debiased'], 'npy:/data/probe.npy'));
  const c = make(spec('depth study', ['resnet18'], ['minibatch:256']));
  return { store, h, a, b, c };
}

describe('run names', () => {
  it('gives a new run the first free "name (k)" when its name is taken', async () => {
    const { h, a, c } = await history();
    expect(a.name).toBe('depth study');
    expect(c.name).toBe('depth study (2)');
    const e = h.createExperiment(spec('depth study', ['x'], ['linear']));
    expect(h.createRun(e.id, 'depth study', spec('x', ['x'], ['linear'])).name).toBe('depth study (3)');
    // The next of "depth study (2)" is not "depth study (2) (2)".
    expect(h.createRun(e.id, 'depth study (2)', spec('x', ['x'], ['linear'])).name).toBe('depth study (4)');
  });

  it('refuses to rename a run onto another run’s name, and allows keeping its own', async () => {
    const { h, a, b } = await history();
    expect(() => h.renameRun(b.id, 'depth study')).toThrow(
      expect.objectContaining({
        code: 'BAD_INPUT',
        message: expect.stringContaining(`another run is called 'depth study' (${a.id})`),
      }),
    );
    expect(h.renameRun(a.id, 'depth study').name).toBe('depth study');
    expect(h.renameRun(b.id, 'vgg with itself').name).toBe('vgg with itself');
  });
});

describe('tags and notes', () => {
  it('adds and removes tags, kept sorted and unique, and refuses malformed ones', async () => {
    const { h, a } = await history();
    expect(h.tagRun(a.id, { add: ['paper', 'fig3', 'paper'] }).tags).toEqual(['fig3', 'paper']);
    expect(h.tagRun(a.id, { add: ['draft'], remove: ['fig3'] }).tags).toEqual(['draft', 'paper']);
    expect(h.run(a.id).tags).toEqual(['draft', 'paper']);
    for (const bad of ['two words', 'a,b', '', 'x'.repeat(41)]) {
      expect(() => h.tagRun(a.id, { add: [bad] })).toThrow(expect.objectContaining({ code: 'BAD_INPUT' }));
    }
    expect(() => h.tagRun(a.id, { add: Array.from({ length: 40 }, (_, i) => `t${i}`) })).toThrow(/at most 32 tags/);
    expect(() => h.tagRun('run-missing', { add: ['x'] })).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
  });

  it('sets and clears a note; deleting a run takes its tags', async () => {
    const { store, h, b } = await history();
    expect(h.setNote(b.id, 'probe from the 2024 dump').note).toBe('probe from the 2024 dump');
    expect(h.setNote(b.id, '').note).toBe('');
    expect(() => h.setNote(b.id, 'x'.repeat(4001))).toThrow(/at most 4000 characters/);
    h.tagRun(b.id, { add: ['gone'] });
    h.finishRun(b.id, 'done');
    h.deleteRun(b.id);
    expect(store.db.prepare('SELECT COUNT(*) AS n FROM run_tags').get()).toEqual({ n: 0 });
  });
});

describe('search', () => {
  it('matches every word against name, models, measures, probe, tags and note, newest first', async () => {
    const { h, a, b, c } = await history();
    h.tagRun(a.id, { add: ['paper'] });
    h.setNote(c.id, 'baseline for the paper draft');
    const ids = (search: string, limit?: number) =>
      h.listRuns({ search, ...(limit ? { limit } : {}) }).map((r) => r.id);
    expect(ids('depth')).toEqual([c.id, a.id]);
    expect(ids('plain-d8')).toEqual([a.id]); // a model's file name
    expect(ids('VGG seed')).toEqual([b.id]); // a model's label (two words, both must match)
    expect(ids('rbf')).toEqual([a.id]); // a measure
    expect(ids('minibatch:256')).toEqual([c.id]);
    expect(ids('probe.npy')).toEqual([b.id]); // the probe
    expect(ids('paper')).toEqual([c.id, a.id]); // a tag, and a note
    expect(ids('tag:paper')).toEqual([a.id]); // only the tag, whole
    expect(ids('tag:pap')).toEqual([]);
    expect(ids('model:depth')).toEqual([]); // the name is not a model
    expect(ids('DEPTH resnet')).toEqual([c.id]);
    expect(ids('depth', 1)).toEqual([c.id]);
    expect(ids('nothing-like-it')).toEqual([]);
    // The directories of a model's path are not its name.
    expect(ids('zoo')).toEqual([]);
  });

  it('finds runs by a prefix of their id, with or without "run-", and takes % and _ literally', async () => {
    const { h, a } = await history();
    const bare = a.id.slice('run-'.length);
    expect(h.listRuns({ idPrefix: a.id.slice(0, 10) }).map((r) => r.id)).toContain(a.id);
    expect(h.listRuns({ idPrefix: bare.slice(0, 8) }).map((r) => r.id)).toEqual([a.id]);
    expect(h.listRuns({ idPrefix: 'run-' }).length).toBe(3);
    expect(h.listRuns({ idPrefix: '%' })).toEqual([]);
    expect(h.listRuns({ idPrefix: '_' })).toEqual([]);
  });
});

describe('schema migration', () => {
  it('adds tags, notes and input keys to a database written before them, keeping its runs', async () => {
    const dir = tempDataDir('ckawb-migrate-');
    const first = await open(dir);
    const e = first.history.createExperiment(spec('old', ['m'], ['linear']));
    const old = first.history.createRun(e.id, 'old run', spec('old', ['m'], ['linear']));
    first.close();
    stores.splice(stores.indexOf(first), 1);
    // Back to schema 1: as a database of the previous version left it.
    const raw = new Database(join(dir, 'workbench.db'));
    raw.exec(
      'DROP TABLE file_digests; DROP INDEX runs_by_input_key; ALTER TABLE runs DROP COLUMN input_key;' +
        'DROP TABLE cache_holds; DROP INDEX runs_by_name; DROP TABLE run_tags; ALTER TABLE runs DROP COLUMN note;',
    );
    raw.pragma('user_version = 1');
    raw.close();

    const store = await open(dir);
    expect(store.db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(store.history.run(old.id)).toMatchObject({ name: 'old run', tags: [], note: '' });
    expect(store.history.tagRun(old.id, { add: ['kept'] }).tags).toEqual(['kept']);
    store.history.recordInputKey(old.id, 'inputs');
    expect(store.db.prepare('SELECT input_key FROM runs WHERE id = ?').get(old.id)).toEqual({ input_key: 'inputs' });
  });
});
