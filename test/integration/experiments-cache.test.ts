/**
 * The cache and the run lifecycle: a second run reuses every activation and Gram (and gives the
 * same numbers, bit for bit), adding a model computes only that model, a tiny cache limit never
 * evicts what the running run uses, cancelling keeps the finished pairs, a model file that
 * changed after the experiment was set up fails the run with a clear reason, and weights kept in a
 * side file (ONNX external data) are part of the model every cache keys by.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import type { ExperimentSpec, RunInfo, RunProgress } from '../../app/common/contract.js';
import { createWorkbench, type Workbench } from '../../app/api/workbench.js';
import { readNpyHeader } from '../../app/engine/io/npy.js';
import { isTempName } from '../../app/engine/io/atomic.js';
import { Store } from '../../app/engine/store/store.js';
import { runExperimentToEnd, runSpec, tempDataDir, zoo, removeTempDataDirs } from '../helpers/experiments.js';
import { fixturesDir } from '../helpers/paths.js';

let api: Workbench;
let dataDir: string;
beforeAll(() => {
  dataDir = tempDataDir();
  api = createWorkbench({ dataDir });
});
afterAll(async () => {
  await api?.close();
  removeTempDataDirs();
});

const seeds: ExperimentSpec = {
  name: 'seeds for the cache',
  kind: 'seeds',
  models: [{ path: zoo('plain-d1-s0') }, { path: zoo('plain-d1-s1') }],
  probe: 'fashion-mnist:300',
  layers: 'preset:blocks',
  measures: ['linear', 'rbf:0.4'],
};

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name));
}

/** Every indexed entry is a whole file; no temp file of an interrupted write is left or indexed. */
async function checkCacheWhole(): Promise<void> {
  const store = await Store.open(dataDir);
  try {
    const rows = store.db.prepare('SELECT kind, path FROM cache_entries').all() as { kind: string; path: string }[];
    for (const row of rows) {
      const path = join(dataDir, row.path);
      expect(isTempName(path.split('/').pop()!)).toBe(false);
      const header = await readNpyHeader(path); // throws on a short file
      expect(header.shape.length).toBeGreaterThan(0);
      if (row.kind === 'gram') expect(existsSync(path.replace(/\.npy$/, '.json'))).toBe(true);
    }
  } finally {
    store.close();
  }
  const temps = [...filesUnder(join(dataDir, 'activations')), ...filesUnder(join(dataDir, 'grams'))].filter((f) =>
    isTempName(f.split('/').pop()!),
  );
  expect(temps).toEqual([]);
}

describe('experiment cache and lifecycle', () => {
  it('a second run recomputes nothing and gives the same numbers', async () => {
    const first = await runSpec(api, seeds);
    expect(first.result!.provenance.work).toEqual({
      activationsExtracted: 10,
      activationsReused: 0,
      gramsComputed: 10,
      gramsReused: 0,
      pairsComputed: 1,
      pairsReused: 0,
    });
    const second = await runExperimentToEnd(api, first.run.experimentId);
    expect(second.run.status).toBe('done');
    // The pair is read back whole: not even the Grams are loaded.
    expect(second.result!.provenance.work).toEqual({
      activationsExtracted: 0,
      activationsReused: 0,
      gramsComputed: 0,
      gramsReused: 0,
      pairsComputed: 0,
      pairsReused: 1,
    });
    expect(second.result!.matrices).toEqual(first.result!.matrices);
    expect(second.result!.seeds).toEqual(first.result!.seeds);
    expect(second.result!.provenance.timingsMs.extract).toBeUndefined();
    expect(second.result!.provenance.timingsMs.kernels).toBeUndefined();
  }, 180_000);

  it('a run with the inputs of a finished run takes its result; a changed byte or pin does not', async () => {
    // A copy of a zoo model: its activations are cached by content, so the first run is cheap.
    const copy = join(dataDir, 'copies', 'seed-1.onnx');
    mkdirSync(dirname(copy), { recursive: true });
    copyFileSync(zoo('plain-d1-s1'), copy);
    const spec: ExperimentSpec = { ...seeds, name: 'repeat: first', models: [seeds.models[0]!, { path: copy }] };
    expect(await api.repeatRun({ spec })).toBeNull(); // nothing had these inputs yet
    const first = await runSpec(api, spec);
    expect(first.run.status).toBe('done');
    // Another model opened since: the repeat moves the run's models back to the top of the recent list.
    const other = await api.openModel({ path: zoo('plain-d2-s0') });
    expect((await api.listModels({}))[0]!.sha256).toBe(other.sha256);

    const again = await api.repeatRun({ spec: { ...spec, name: 'repeat: again' } });
    expect(again).not.toBeNull();
    const recent = (await api.listModels({})).map((m) => m.sha256);
    expect(recent.slice(0, 2).sort()).toEqual(first.result!.models.map((m) => m.sha256).sort());
    expect(recent[2]).toBe(other.sha256);
    expect(again!.run).toMatchObject({ status: 'done', name: 'repeat: again' });
    expect(again!.run.experimentId).not.toBe(first.run.experimentId);
    expect(again!.result!.provenance.repeatOf).toBe(first.run.id);
    expect(again!.result!.provenance.work).toMatchObject({
      activationsExtracted: 0,
      gramsComputed: 0,
      pairsComputed: 0,
    });
    expect(again!.result!.matrices).toEqual(first.result!.matrices);
    expect(again!.result!.seeds).toEqual(first.result!.seeds);
    expect(again!.result!.models).toEqual(first.result!.models);
    // What the history keeps of it is the same result.
    const stored = await api.getRun({ runId: again!.run.id });
    expect(stored.result!.matrices).toEqual(first.result!.matrices);
    expect(stored.result!.partial).toBe(false);
    expect((await api.getExperiment({ experimentId: again!.run.experimentId })).spec.name).toBe('repeat: again');

    // A pin that is not the file's, or one changed byte of the model: computed again.
    const pinned = { ...spec, models: [spec.models[0]!, { path: copy, sha256: 'f'.repeat(64) }] };
    expect(await api.repeatRun({ spec: pinned })).toBeNull();
    const bytes = readFileSync(copy);
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 1, bytes.length - 1);
    writeFileSync(copy, bytes);
    expect(await api.repeatRun({ spec })).toBeNull();
  }, 180_000);

  it('wide layers keep only their Grams, made in the runner, with the numbers of Grams from cached activations', async () => {
    const spec: ExperimentSpec = {
      name: 'Grams in the runner',
      kind: 'pair',
      models: [{ path: zoo('plain-d1-s0') }, { path: zoo('plain-d2-s0') }],
      // n = 400: each reply's Grams (0.6 MB each) are large enough to come through the spill file.
      probe: 'fashion-mnist:400',
      layers: 'op:Relu,Gemm',
      measures: ['linear', 'rbf:0.5', 'debiased'],
    };
    const inRunner = createWorkbench({ dataDir: tempDataDir() });
    const fromFiles = createWorkbench({ dataDir: tempDataDir() });
    try {
      // The preflight counts what the run writes: ~6 MiB of Grams fit under this limit, the
      // ReLUs' ~100 MiB of activations would not.
      await inRunner.setCacheLimit({ bytes: 24 * 2 ** 20 });
      const streamed = await runSpec(inRunner, spec);
      expect(streamed.run.status).toBe('done');
      const layers = streamed.result!.models.map((m) => m.layers.length);
      const total = layers[0]! + layers[1]!;
      // Every ReLU is wider than 400 examples; each model's classifier (Gemm, 10 logits) is not.
      const wide = total - 2;
      const info = await inRunner.getCacheInfo({});
      expect([info.byKind.activation.entries, info.byKind.gram.entries]).toEqual([total - wide, total]);
      expect(streamed.result!.provenance.work).toMatchObject({ activationsExtracted: total, gramsComputed: total });

      // The other workbench first keeps every layer's activations (a minibatch run needs the rows),
      // so the same spec then computes each Gram from its cached file.
      const rows = await runSpec(fromFiles, { ...spec, name: 'rows first', measures: ['minibatch:40'] });
      expect(rows.run.status).toBe('done');
      expect((await fromFiles.getCacheInfo({})).byKind.activation.entries).toBe(total);
      const cached = await runSpec(fromFiles, spec);
      expect(cached.result!.provenance.work).toMatchObject({ activationsExtracted: 0, activationsReused: total });
      const a = streamed.result!.matrices.flatMap((m) => m.matrix.flat() as number[]);
      const b = cached.result!.matrices.flatMap((m) => m.matrix.flat() as number[]);
      expect(a).toHaveLength(b.length);
      expect(a.every(Number.isFinite)).toBe(true);
      expect(Math.max(...a.map((v, i) => Math.abs(v - b[i]!)))).toBeLessThanOrEqual(1e-9);
    } finally {
      await inRunner.close();
      await fromFiles.close();
    }
  }, 180_000);

  it('adding a model to a finished experiment computes only that model', async () => {
    const [experiment] = (await api.listExperiments({})).filter((e) => e.name === seeds.name);
    const before = (await api.getRun({ runId: experiment!.lastRun!.id })).result!;
    await api.openModel({ path: zoo('plain-d1-s2') });
    const updated = await api.updateExperiment({
      experimentId: experiment!.id,
      spec: { ...seeds, models: [...seeds.models, { path: zoo('plain-d1-s2') }] },
    });
    expect(updated.spec.models.every((m) => /^[0-9a-f]{64}$/.test(m.sha256!))).toBe(true);
    const third = await runExperimentToEnd(api, experiment!.id);
    // Only the new model is extracted; the old models' Grams serve the new pairs.
    expect(third.result!.provenance.work).toEqual({
      activationsExtracted: 5,
      activationsReused: 0,
      gramsComputed: 5,
      gramsReused: 10,
      pairsComputed: 2,
      pairsReused: 1,
    });
    // The pairs that existed are reproduced exactly; the new ones are added.
    const pair = (r: typeof before, a: number, b: number) =>
      r.matrices.filter((m) => m.rows.model === a && m.cols.model === b);
    expect(pair(third.result!, 0, 1)).toEqual(pair(before, 0, 1));
    expect(pair(third.result!, 1, 0)).toEqual(pair(before, 1, 0));
    expect(third.result!.matrices).toHaveLength(12);
  }, 180_000);

  it('a cache limit far below one run never evicts what the running run uses', async () => {
    await api.clearCache({});
    // Set before the run, such a limit refuses it (the preflight: what it writes could not stay in
    // the cache); lowered while the run runs, it must not take the run's own entries away.
    await api.setCacheLimit({ bytes: 1 });
    const refused = await runSpec(api, { ...seeds, name: 'refused by the cache limit', probe: 'fashion-mnist:250' });
    expect(refused.run.status).toBe('failed');
    expect(refused.run.error).toMatchObject({
      code: 'DISK_FULL',
      message: expect.stringMatching(/more than the cache limit of 1 bytes/),
    });
    await api.setCacheLimit({ bytes: 20 * 2 ** 30 });
    let lowered: Promise<unknown> | null = null;
    const off = api.subscribe((e) => {
      if (!lowered && e.type === 'progress' && e.progress.stage === 'extract')
        lowered = api.setCacheLimit({ bytes: 1 });
    });
    const run = await runSpec(api, { ...seeds, name: 'tiny cache limit', probe: 'fashion-mnist:250' });
    off();
    await lowered;
    expect(lowered).not.toBeNull();
    expect(run.run.status).toBe('done');
    expect(run.result!.provenance.work!.gramsComputed).toBe(10);
    // After the run its entries are no longer pinned: the limit applies.
    const after = await api.getCacheInfo({});
    expect(after.pinned).toBe(0);
    expect(after.bytes).toBeLessThanOrEqual(1);
    await api.setCacheLimit({ bytes: 20 * 2 ** 30 });
    await checkCacheWhole();
    // With activations and Grams evicted, a re-run still reads its finished pair, and after
    // clearCache (which also forgets finished pairs) it computes everything again.
    const again = await runExperimentToEnd(api, run.run.experimentId);
    expect(again.result!.provenance.work).toMatchObject({ activationsExtracted: 0, pairsReused: 1 });
    await api.clearCache({});
    const fresh = await runExperimentToEnd(api, run.run.experimentId);
    expect(fresh.result!.provenance.work).toMatchObject({
      activationsExtracted: 10,
      gramsComputed: 10,
      pairsComputed: 1,
    });
    expect(fresh.result!.matrices).toEqual(run.result!.matrices);
  }, 180_000);

  it('cancelling during extraction keeps the pairs that were finished', async () => {
    const spec: ExperimentSpec = {
      name: 'family to cancel',
      kind: 'family',
      models: [
        { path: zoo('plain-d1-s0'), label: 'a' },
        { path: zoo('plain-d2-s0'), label: 'b' },
        { path: zoo('plain-d1-s1'), label: 'c' },
      ],
      probe: 'fashion-mnist:2000',
      layers: 'op:Relu',
      measures: ['linear'],
    };
    for (const m of spec.models) await api.openModel({ path: m.path });
    const experiment = await api.createExperiment({ spec });
    const progress: RunProgress[] = [];
    let cancelled: Promise<unknown> | null = null;
    const off = api.subscribe((e) => {
      if (e.type !== 'progress') return;
      progress.push(e.progress);
      if (!cancelled && e.progress.stage === 'extract' && e.progress.model === 'c' && e.progress.fraction > 0) {
        cancelled = api.cancelRun({ runId: e.progress.runId });
      }
    });
    const details = await runExperimentToEnd(api, experiment.id);
    off();
    await cancelled;
    expect(details.run.status).toBe('cancelled');
    expect(details.run.error).toMatchObject({ code: 'CANCELLED' });
    expect(details.run.error!.message).toBe(
      'cancelled while extracting activations; the 3 finished pairs of models were kept',
    );
    expect(details.result!.partial).toBe(true);
    expect(details.result!.matrices.map((m) => `${m.rows.model},${m.cols.model}`)).toEqual(['0,0', '0,1', '1,1']);
    // Progress: fractions never go back, stages and models are named, ETA once work was timed.
    const fractions = progress.map((p) => p.fraction);
    expect(fractions.every((f, i) => i === 0 || f >= fractions[i - 1]! - 1e-12)).toBe(true);
    expect(new Set(progress.map((p) => p.stage))).toEqual(new Set(['prepare', 'extract', 'kernels', 'similarity']));
    expect(progress.some((p) => p.examplesPerSecond! > 0 && p.model === 'a')).toBe(true);
    expect(progress.some((p) => p.etaSeconds !== undefined)).toBe(true);
    expect((await api.getCacheInfo({})).pinned).toBe(0);
    await checkCacheWhole();
  }, 180_000);

  it('cancels a queued run before it starts, and a run during its Grams', async () => {
    const spec: ExperimentSpec = {
      name: 'to cancel in kernels',
      kind: 'self',
      models: [{ path: zoo('plain-d4-s0') }],
      probe: 'fashion-mnist:1500',
      layers: 'op:Relu',
      // CCA needs the rows: the layers' Grams are computed from their files (not in the runner).
      measures: ['linear', 'cca'],
    };
    await api.openModel({ path: zoo('plain-d4-s0') });
    const first = await api.createExperiment({ spec });
    const second = await api.createExperiment({ spec: { ...spec, name: 'queued behind it' } });
    // Once the first run is in its Grams (far more work than the three calls below), the second
    // is queued behind it and cancelled there; then the first is cancelled. (Queued after a fixed
    // wait instead, the second could start: with the first's inputs cached by earlier tests, the
    // first reached its Grams, and was cancelled, within that wait.)
    let queuedAndCancelled: Promise<[RunInfo, RunInfo]> | null = null;
    const off = api.subscribe((e) => {
      if (!queuedAndCancelled && e.type === 'progress' && e.progress.stage === 'kernels') {
        const firstRunId = e.progress.runId;
        queuedAndCancelled = (async () => {
          const queued = await api.runExperiment({ experimentId: second.id });
          const cancelled = await api.cancelRun({ runId: queued.id });
          await api.cancelRun({ runId: firstRunId });
          return [queued, cancelled];
        })();
      }
    });
    const details = await runExperimentToEnd(api, first.id);
    off();
    const [queued, cancelledQueued] = await queuedAndCancelled!;
    expect(queued.status).toBe('queued');
    expect(cancelledQueued).toMatchObject({
      status: 'cancelled',
      error: { code: 'CANCELLED', message: 'cancelled before it started' },
    });
    expect(details.run.status).toBe('cancelled');
    expect(details.run.error!.message).toBe('cancelled while computing Grams; no pair of models was finished');
    expect(details.result).toMatchObject({ partial: true, matrices: [] });
    expect((await api.getRun({ runId: queued.id })).result).toBeNull();
  }, 180_000);

  it('closing the app mid-run leaves the run interrupted with the reason', async () => {
    const dir = tempDataDir();
    const other = createWorkbench({ dataDir: dir });
    await other.openModel({ path: zoo('plain-d2-s0') });
    const experiment = await other.createExperiment({
      spec: {
        name: 'closed',
        kind: 'self',
        models: [{ path: zoo('plain-d2-s0') }],
        probe: 'fashion-mnist:2000',
        layers: 'op:Relu',
        measures: ['linear'],
      },
    });
    const extracting = new Promise<void>((resolve) =>
      other.subscribe((e) => {
        if (e.type === 'progress' && e.progress.stage === 'extract') resolve();
      }),
    );
    const run = await other.runExperiment({ experimentId: experiment.id });
    await extracting;
    await other.close();
    const store = await Store.open(dir);
    try {
      expect(store.history.run(run.id)).toMatchObject({
        status: 'interrupted',
        error: {
          code: 'CANCELLED',
          message: expect.stringMatching(/^interrupted: the app was closed while extracting activations; /),
        },
      });
    } finally {
      store.close();
    }
  }, 180_000);

  it('re-extracting a layer whose row named another file deletes that file', async () => {
    const dir = tempDataDir();
    const other = createWorkbench({ dataDir: dir });
    try {
      const spec: ExperimentSpec = {
        name: 'replaced activation file',
        kind: 'self',
        models: [{ path: zoo('plain-d1-s0') }],
        probe: 'fashion-mnist:100',
        layers: 'op:Relu',
        // Averaged over positions, every layer is narrower than the probe: kept as activations.
        reduce: 'mean',
        measures: ['linear'],
      };
      const first = await runSpec(other, spec);
      const layers = first.result!.provenance.work!.activationsExtracted;
      expect(layers).toBeGreaterThan(1);
      // One layer's row names a file its manifest no longer lists (as after a lost manifest entry),
      // and its Gram and the finished pair are gone, so the next run extracts that layer again.
      const store = await Store.open(dir);
      let moved: string, original: string;
      try {
        const row = store.db.prepare(`SELECT key, tensor, path FROM cache_entries WHERE kind = 'activation'`).get() as {
          key: string;
          tensor: string;
          path: string;
        };
        original = join(dir, row.path);
        moved = join(dirname(original), 'left-by-an-earlier-run.npy');
        renameSync(original, moved);
        store.db.prepare('UPDATE cache_entries SET path = ? WHERE key = ?').run(relative(dir, moved), row.key);
        const manifestPath = join(dirname(original), 'manifest.json');
        const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { layers: { tensor: string }[] };
        manifest.layers = manifest.layers.filter((l) => l.tensor !== row.tensor);
        writeFileSync(manifestPath, JSON.stringify(manifest));
        store.db.exec(`DELETE FROM cache_entries WHERE kind = 'gram'; DELETE FROM pair_results;`);
      } finally {
        store.close();
      }
      const second = await runExperimentToEnd(other, first.run.experimentId);
      expect(second.result!.provenance.work).toMatchObject({
        activationsExtracted: 1,
        activationsReused: layers - 1,
      });
      expect(second.result!.matrices).toEqual(first.result!.matrices);
      expect(existsSync(original)).toBe(true);
      expect(existsSync(moved)).toBe(false);
    } finally {
      await other.close();
    }
  }, 120_000);

  it('a model file that changed since the experiment was set up fails the run, naming it', async () => {
    const dir = join(dataDir, 'uploads', 'changing');
    mkdirSync(dir, { recursive: true });
    const path = join(dir, 'model.onnx');
    copyFileSync(zoo('plain-d1-s0'), path);
    await api.openModel({ path });
    const experiment = await api.createExperiment({
      spec: {
        name: 'changing',
        kind: 'self',
        models: [{ path }],
        probe: 'fashion-mnist:100',
        layers: 'op:Relu',
        measures: ['linear'],
      },
    });
    copyFileSync(zoo('plain-d1-s3'), path);
    const details = await runExperimentToEnd(api, experiment.id);
    expect(details.run.status).toBe('failed');
    expect(details.run.error!.code).toBe('BAD_MODEL');
    expect(details.run.error!.message).toMatch(
      /model\.onnx: the file's sha256 is [0-9a-f]{12}…, but the experiment expects/,
    );
    expect(details.result).toBeNull();
  }, 60_000);

  it('weights in a side file are part of the model: changing only them is another model, never a cache hit', async () => {
    const dir = join(dataDir, 'copies', 'external');
    mkdirSync(dir, { recursive: true });
    const model = join(dir, 'tiny_cnn_external.onnx');
    const weights = join(dir, 'tiny_cnn_external.weights');
    copyFileSync(join(fixturesDir, 'models', 'tiny_cnn_external.onnx'), model);
    copyFileSync(join(fixturesDir, 'models', 'tiny_cnn_external.weights'), weights);
    const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
    // onnx/model-digest.ts's formula, written out from the files' bytes.
    const expectedDigest = () =>
      sha256(
        Buffer.from(
          `onnx+external-data\n${sha256(readFileSync(model))}\ntiny_cnn_external.weights\0${sha256(readFileSync(weights))}\n`,
        ),
      );
    const spec: ExperimentSpec = {
      name: 'side files',
      kind: 'pair',
      // The same network with its weights inline: CKA 1 on the diagonal while the side file is unchanged.
      models: [{ path: join(fixturesDir, 'models', 'tiny_cnn.onnx') }, { path: model }],
      probe: 'fashion-mnist:64',
      layers: 'op:Relu',
      measures: ['linear'],
    };
    const first = await runSpec(api, spec);
    expect(first.run.error ?? null).toBeNull();
    const before = expectedDigest();
    expect(first.result!.models[1]!.sha256).toBe(before);
    expect(first.result!.models[1]!.sha256).not.toBe(sha256(readFileSync(model)));
    const diagonal = (details: typeof first) => details.result!.matrices[0]!.matrix.map((row, i) => row[i]!);
    for (const v of diagonal(first)) expect(v).toBeCloseTo(1, 6);
    // A run of a model with side files records no input key: the CLI's repeat never answers for it.
    expect(await api.repeatRun({ spec: { ...spec, name: 'side files: again' } })).toBeNull();

    // Other weights, same size, same .onnx file.
    const values = new Float32Array(new Uint8Array(readFileSync(weights)).buffer);
    for (let i = 0; i < values.length; i++) values[i] = values[i]! * (1 + 0.5 * Math.sin(i));
    writeFileSync(weights, values);
    const second = await runSpec(api, { ...spec, name: 'side files: changed' });
    expect(second.run.status).toBe('done');
    expect(second.result!.models[1]!.sha256).toBe(expectedDigest());
    expect(second.result!.models[1]!.sha256).not.toBe(before);
    // The changed model's two ReLUs are extracted again; only the inline model's Grams are reused.
    expect(second.result!.provenance.work).toMatchObject({
      activationsExtracted: 2,
      gramsComputed: 2,
      gramsReused: 2,
      pairsComputed: 1,
      pairsReused: 0,
    });
    expect(Math.min(...diagonal(second))).toBeLessThan(0.999);

    // The numbers of a workbench that never saw the old weights.
    const fresh = createWorkbench({ dataDir: tempDataDir() });
    try {
      const alone = await runSpec(fresh, { ...spec, name: 'side files: fresh' });
      expect(second.result!.matrices.map((m) => m.matrix)).toEqual(alone.result!.matrices.map((m) => m.matrix));
    } finally {
      await fresh.close();
    }
  }, 60_000);
});
