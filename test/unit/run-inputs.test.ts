/**
 * The key of a run's inputs (experiments/run-inputs.ts) and the file digests it is made of
 * (store/file-digests.ts): equal for runs whose numbers must be equal, different as soon as one
 * byte of a file the run reads, the spec, or the app differs; none when a file cannot be read.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExperimentSpec } from '../../app/common/contract.js';
import { runInputKey, type RunInputContext } from '../../app/engine/experiments/run-inputs.js';
import { fileSha256 } from '../../app/engine/io/file-hash.js';
import { openDatabase } from '../../app/engine/store/database.js';
import { FileDigests } from '../../app/engine/store/file-digests.js';

const dir = mkdtempSync(join(tmpdir(), 'ckawb-inputs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const file = (name: string, bytes: string | Buffer) => {
  const path = join(dir, name);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, bytes);
  return path;
};
const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

// The key reads model pins, not model files: any paths do; the probe and tokenizer files are real.
const modelsDir = join(dir, 'models');
file(
  'models/zoo.json',
  JSON.stringify({ normalization: { scale: 1 / 255, mean: 0.5, std: 0.25 }, probe: { images: 'probe/images.npy' } }),
);
file('models/probe/images.npy', 'images v1');
const npy = file('probe.npy', 'npy bytes v1');
const images = join(dir, 'images');
file('images/a.png', 'a');
file('images/sub/b.png', 'b');
mkdirSync(join(dir, 'nets'), { recursive: true });

const context: RunInputContext = {
  modelsDir,
  app: { version: '1.0.0', onnxruntime: '1.30.0' },
  precision: 'float32',
  sha256: (path) => fileSha256(path),
};
const spec = (probe: string, more: Partial<ExperimentSpec> = {}): ExperimentSpec => ({
  name: 'a run',
  kind: 'pair',
  models: [
    { path: join(dir, 'nets', 'a.onnx'), sha256: 'a'.repeat(64) },
    { path: join(dir, 'nets', 'b.onnx'), sha256: 'b'.repeat(64) },
  ],
  probe,
  layers: 'op:Relu',
  measures: ['linear'],
  ...more,
});
const key = (s: ExperimentSpec, c: Partial<RunInputContext> = {}) => runInputKey(s, { ...context, ...c });

describe('the key of a run’s inputs', () => {
  it('ignores the name and the order of keys, and sees the spec, the app and the precision', async () => {
    const base = await key(spec(`npy:${npy}`));
    expect(base).toMatch(/^[0-9a-f]{64}$/);
    expect(await key(spec(`npy:${npy}`, { name: 'another name' }))).toBe(base);
    const { models, measures, ...rest } = spec(`npy:${npy}`);
    expect(await key({ measures, ...rest, models })).toBe(base);
    expect(await key(spec(`npy:${npy}`, { measures: ['linear', 'debiased'] }))).not.toBe(base);
    expect(await key(spec(`npy:${npy}`, { layers: 'all' }))).not.toBe(base);
    expect(await key(spec(`npy:${npy}`, { options: { bootstrap: { samples: 10, seed: 1 } } }))).not.toBe(base);
    const other = spec(`npy:${npy}`);
    other.models[1]!.sha256 = 'c'.repeat(64);
    expect(await key(other)).not.toBe(base);
    expect(await key(spec(`npy:${npy}`), { app: { version: '1.0.1', onnxruntime: '1.30.0' } })).not.toBe(base);
    expect(await key(spec(`npy:${npy}`), { precision: 'float64' })).not.toBe(base);
    expect(await key(spec(`npy:${npy}`), { modelsDir: join(dir, 'nets') })).not.toBe(base);
    // Paths count as resolved: the same file under another spelling is the same input.
    const spelled = spec(`npy:${npy}`);
    spelled.models[0]!.path = join(dir, 'nets', '.', '..', 'nets', 'a.onnx');
    expect(await key(spelled)).toBe(base);
  });

  it('follows the bytes of probe files and folders, tokenizers beside a model, and the built-in probe', async () => {
    const npyKey = await key(spec(`npy:${npy}`));
    writeFileSync(npy, 'npy bytes v2');
    expect(await key(spec(`npy:${npy}`))).not.toBe(npyKey);
    writeFileSync(npy, 'npy bytes v1');
    expect(await key(spec(`npy:${npy}`))).toBe(npyKey);

    const folderKey = await key(spec(`images:${images}`));
    writeFileSync(join(images, 'a.png'), 'A');
    const changed = await key(spec(`images:${images}`));
    expect(changed).not.toBe(folderKey);
    file('images/c.png', 'c');
    expect(await key(spec(`images:${images}`))).not.toBe(changed);

    // Files that are not images are not read by the probe, nor is a subfolder.
    file('images/notes.txt', 'not an image');
    file('images/sub/d.png', 'd');
    const withNotes = await key(spec(`images:${images}`));
    writeFileSync(join(images, 'notes.txt'), 'other notes');
    writeFileSync(join(images, 'sub', 'd.png'), 'D');
    expect(await key(spec(`images:${images}`))).toBe(withNotes);

    // Side files: a tokenizer beside a model, the config beside a tokenizer, an image processor's
    // settings beside a model, the zoo's manifest.
    const sideKeys = new Set([npyKey]);
    const changes = async (write: () => void) => {
      write();
      const next = (await key(spec(`npy:${npy}`)))!;
      expect(sideKeys.has(next)).toBe(false);
      sideKeys.add(next);
    };
    await changes(() => file('nets/tokenizer.json', '{"v":1}'));
    await changes(() => file('nets/tokenizer.json', '{"v":2}'));
    await changes(() => file('nets/tokenizer_config.json', '{"model_max_length":8}'));
    await changes(() => file('nets/preprocessor_config.json', '{"image_mean":[0.5]}'));
    await changes(() => file('nets/preprocessor_config.json', '{"image_mean":[0.4]}'));
    await changes(() => file('models/zoo.json', readFileSync(join(modelsDir, 'zoo.json'), 'utf8') + ' '));
    const named = spec(`text:${npy}?tokenizer=${join(dir, 'tok', 'tokenizer.json')}`);
    file('tok/tokenizer.json', '{}');
    const namedKey = await key(named);
    file('tok/tokenizer_config.json', '{}');
    expect(await key(named)).not.toBe(namedKey);
    for (const name of ['tokenizer.json', 'tokenizer_config.json', 'preprocessor_config.json'])
      rmSync(join(dir, 'nets', name));

    const builtIn = await key(spec('fashion-mnist:100'));
    expect(builtIn).not.toBeNull();
    expect(await key(spec('fashion-mnist:200'))).not.toBe(builtIn);
    writeFileSync(join(modelsDir, 'probe', 'images.npy'), 'images v2');
    expect(await key(spec('fashion-mnist:100'))).not.toBe(builtIn);
  });

  it('is null for an unpinned model or an input that cannot be read', async () => {
    const unpinned = spec(`npy:${npy}`);
    delete unpinned.models[0]!.sha256;
    expect(await key(unpinned)).toBeNull();
    expect(await key(spec(`npy:${join(dir, 'missing.npy')}`))).toBeNull();
    expect(await key(spec(`images:${join(dir, 'no-folder')}`))).toBeNull();
    expect(await key(spec(`npy:${dir}`))).toBeNull(); // a folder where a file is read
  });
});

describe('file digests remembered by the file’s identity', () => {
  it('give every file’s sha256, remember settled files only, and see a same-size rewrite', async () => {
    const db = openDatabase(join(dir, 'data', 'workbench.db'));
    try {
      const remembered = () => db.prepare('SELECT path, sha256 FROM file_digests ORDER BY path').all();
      const path = file('digested.bin', 'first content');
      const fresh = new FileDigests(db); // the file changed just now: hashed, not remembered
      expect(await fresh.sha256(path)).toBe(sha(readFileSync(path)));
      expect(remembered()).toEqual([]);

      const settled = new FileDigests(db, -1);
      expect(await settled.sha256(path)).toBe(sha(readFileSync(path)));
      expect(remembered()).toEqual([{ path, sha256: sha(readFileSync(path)) }]);
      // A same-size rewrite; its time set apart, as a timestamp tick (a few ms) would not be.
      writeFileSync(path, 'other content');
      utimesSync(path, new Date(2000, 0, 1), new Date(2000, 0, 1));
      expect(readFileSync(path).length).toBe('first content'.length);
      expect(await settled.sha256(path)).toBe(sha(Buffer.from('other content')));
      expect(remembered()).toEqual([{ path, sha256: sha(Buffer.from('other content')) }]);
      await expect(settled.sha256(dir)).rejects.toThrow(/regular file|directory/i);
      // What is remembered is what is answered while the file's identity stays.
      db.prepare('UPDATE file_digests SET sha256 = ? WHERE path = ?').run('f'.repeat(64), path);
      expect(await settled.sha256(path)).toBe('f'.repeat(64));
    } finally {
      db.close();
    }
  });
});
