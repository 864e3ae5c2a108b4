/**
 * Faults in the middle of a run (issue 8 §4): cancelling at every stage, the model process killed,
 * the disk full while the cache is written, and the database locked by another process. In every
 * case the run ends with its status and the reason, the pairs it finished are kept (and are the
 * numbers an undisturbed run gives), nothing half-written is in the cache index or its manifests,
 * no pin outlives the run, and running it again completes it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, rmSync, statfsSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { STAGE_ACTIVITIES, keptPairs } from '../../app/common/run-stages.js';
import type { ExperimentSpec, RunDetails, RunInfo, RunStage, WorkbenchEvent } from '../../app/common/contract.js';
import { createWorkbench, type Workbench } from '../../app/api/workbench.js';
import { readExtractManifest } from '../../app/engine/activations/extract-dir.js';
import { isTempName } from '../../app/engine/io/atomic.js';
import { readNpyHeader } from '../../app/engine/io/npy.js';
import { Store } from '../../app/engine/store/store.js';
import { armWriteFault, diskFull } from '../../app/engine/io/write-faults.js';
import { databaseLocker, faultLauncher } from '../helpers/faults.js';
import { removeTempDataDirs, runExperimentToEnd, tempDataDir, zoo } from '../helpers/experiments.js';

const launcher = faultLauncher();
let api: Workbench;
let dataDir: string;
/** The numbers of the undisturbed run. */
let reference: RunDetails;

const family: ExperimentSpec = {
  name: 'faults',
  kind: 'family',
  models: [
    { path: zoo('plain-d1-s0'), label: 'a' },
    { path: zoo('plain-d2-s0'), label: 'b' },
    { path: zoo('plain-d1-s1'), label: 'c' },
  ],
  probe: 'fashion-mnist:400',
  // The ReLUs are wider than the probe: their Grams are made in the runners, and only the logits
  // (Gemm) are written to the activation cache and have their Grams computed from files.
  layers: 'op:Relu,Gemm',
  measures: ['linear'],
  options: { bootstrap: { samples: 40, seed: 7 }, batchSize: 50 },
};

beforeAll(async () => {
  // The undisturbed numbers, from a data directory of their own.
  const clean = createWorkbench({ dataDir: tempDataDir('ckawb-faults-ref-'), threads: 1 });
  try {
    for (const m of family.models) await clean.openModel({ path: m.path });
    reference = await runExperimentToEnd(clean, (await clean.createExperiment({ spec: family })).id);
  } finally {
    await clean.close();
  }
  expect(reference.run.status).toBe('done');
  dataDir = tempDataDir('ckawb-faults-');
  api = createWorkbench({ dataDir, runnerLauncher: launcher, threads: 1 });
  for (const m of family.models) await api.openModel({ path: m.path });
}, 180_000);

afterAll(async () => {
  await api?.close();
  removeTempDataDirs();
});

/** Runs a fresh experiment of the family spec, calling `onEvent` with every event until it ends (one run at a time). */
async function runWith(name: string, onEvent: (e: WorkbenchEvent) => void): Promise<RunDetails> {
  const experiment = await api.createExperiment({ spec: { ...family, name } });
  const off = api.subscribe(onEvent);
  try {
    return await runExperimentToEnd(api, experiment.id);
  } finally {
    off();
  }
}

/** Matrices (row model, col model) in the order a family run writes them. */
const PAIR_ORDER = ['0,0', '0,1', '1,1', '0,2', '1,2', '2,2'];

/** The run kept only whole pairs, each the undisturbed run's numbers, and the rest of the state is clean. */
async function checkKept(details: RunDetails, expectedPairs: number): Promise<void> {
  if (expectedPairs === 0) {
    expect(details.result === null || details.result.matrices.length === 0).toBe(true);
  } else {
    const result = details.result!;
    expect(result.partial).toBe(expectedPairs < PAIR_ORDER.length);
    expect(result.matrices.map((m) => `${m.rows.model},${m.cols.model}`)).toEqual(PAIR_ORDER.slice(0, expectedPairs));
    result.matrices.forEach((m, i) => {
      const ref = reference.result!.matrices[i]!;
      expect(m.matrix).toEqual(ref.matrix);
      expect(m.ci).toEqual(ref.ci);
    });
  }
  await checkCacheWhole();
}

/** Every index row is a whole file, manifests list only whole files, no temp file is left, no pin held. */
async function checkCacheWhole(): Promise<void> {
  const store = await Store.open(dataDir, { sweepMinAgeMs: 60_000 });
  try {
    for (const row of store.db.prepare('SELECT kind, path FROM cache_entries').all() as {
      kind: string;
      path: string;
    }[]) {
      const header = await readNpyHeader(join(dataDir, row.path));
      expect(header.shape.length).toBeGreaterThan(0);
      if (row.kind === 'gram') expect(existsSync(join(dataDir, row.path).replace(/\.npy$/, '.json'))).toBe(true);
    }
    expect(store.cache.info().pinned).toBe(0);
  } finally {
    store.close();
  }
  const activations = join(dataDir, 'activations');
  for (const sha of existsSync(activations) ? readdirSync(activations) : []) {
    for (const probe of readdirSync(join(activations, sha))) {
      const dir = join(activations, sha, probe);
      const manifest = await readExtractManifest(dir);
      for (const layer of manifest?.layers ?? []) {
        // Eviction removes files and their index rows, not manifest lines: a listed file is whole or gone.
        const file = join(dir, layer.file);
        if (existsSync(file)) expect((await readNpyHeader(file)).shape).toEqual([manifest!.probe.n, layer.features]);
      }
    }
  }
  const temps = ['activations', 'grams'].flatMap((d) =>
    existsSync(join(dataDir, d))
      ? (readdirSync(join(dataDir, d), { recursive: true }) as string[]).filter((f) => isTempName(f.split('/').pop()!))
      : [],
  );
  expect(temps).toEqual([]);
}

/** Running the experiment again completes it with the undisturbed numbers. */
async function checkRerun(details: RunDetails): Promise<void> {
  const again = await runExperimentToEnd(api, details.run.experimentId);
  expect(again.run.status).toBe('done');
  expect(again.result!.matrices.map((m) => m.matrix)).toEqual(reference.result!.matrices.map((m) => m.matrix));
  expect(again.result!.matrices.map((m) => m.ci)).toEqual(reference.result!.matrices.map((m) => m.ci));
}

describe('cancelling at every stage', () => {
  // Each stage is cancelled where it works on the last model, c, once a, b and their pairs are done
  // (prepare comes before any of that).
  const stages: { stage: RunStage; pairs: number }[] = [
    { stage: 'prepare', pairs: 0 },
    { stage: 'extract', pairs: 3 },
    { stage: 'kernels', pairs: 3 },
    { stage: 'similarity', pairs: 3 },
    { stage: 'bootstrap', pairs: 3 },
  ];
  for (const { stage, pairs } of stages) {
    it(`during ${stage}: cancelled with the stage named, finished pairs kept, cache whole, a re-run completes`, async () => {
      await api.clearCache({});
      let sawC = stage === 'prepare';
      let cancelled: Promise<unknown> | null = null;
      const details = await runWith(`cancel during ${stage}`, (e) => {
        if (e.type !== 'progress') return;
        if (e.progress.model === 'c') sawC = true;
        if (sawC && !cancelled && e.progress.stage === stage) cancelled = api.cancelRun({ runId: e.progress.runId });
      });
      await cancelled;
      expect(cancelled).not.toBeNull();
      expect(details.run.status).toBe('cancelled');
      expect(details.run.error).toEqual({
        code: 'CANCELLED',
        message: `cancelled while ${STAGE_ACTIVITIES[stage]}; ${keptPairs(pairs)}`,
      });
      await checkKept(details, pairs);
      await checkRerun(details);
    }, 180_000);
  }

  // A cancel racing the end of the run (its last pairs being compared and saved) leaves it done or
  // cancelled, never between. Each cancel is sent at a point the run itself reports, so each case
  // has one outcome whatever the machine's speed: while the last step's pairs are being compared or
  // bootstrapped (cancelled, the earlier pairs kept whole), the moment the run reports it is done
  // (its end is recorded, and the run may still hold its slot: the cancel must undo nothing), and
  // after the run ended (done).
  const racing: {
    when: string;
    at: (e: WorkbenchEvent, sawC: boolean) => string | null;
    ends: 'done' | 'cancelled';
    stage?: RunStage;
  }[] = [
    {
      when: 'as the last pairs start being compared',
      at: (e, sawC) => (sawC && e.type === 'progress' && e.progress.stage === 'similarity' ? e.progress.runId : null),
      ends: 'cancelled',
      stage: 'similarity',
    },
    {
      when: "as the last pairs' bootstrap starts",
      at: (e, sawC) => (sawC && e.type === 'progress' && e.progress.stage === 'bootstrap' ? e.progress.runId : null),
      ends: 'cancelled',
      stage: 'bootstrap',
    },
    {
      when: 'as the run reports it is done',
      at: (e) => (e.type === 'run' && e.run.status === 'done' ? e.run.id : null),
      ends: 'done',
    },
    { when: 'after the run ended', at: () => null, ends: 'done' },
  ];
  for (const { when, at, ends, stage } of racing) {
    it(`a cancel ${when}: the run ends ${ends}, never between, finished results intact`, async () => {
      await api.clearCache({});
      let cancelled: Promise<RunInfo> | null = null;
      let sawC = false;
      const details = await runWith(`cancel ${when}`, (e) => {
        if (e.type === 'progress' && e.progress.model === 'c') sawC = true;
        const runId = cancelled ? null : at(e, sawC);
        if (runId) cancelled = api.cancelRun({ runId });
      });
      if (ends === 'done' && !cancelled) cancelled = api.cancelRun({ runId: details.run.id });
      expect(cancelled).not.toBeNull();
      const answer = await cancelled!;
      // What cancelRun answers is what the run ended as, and stays so.
      expect(answer.status).toBe(ends);
      const after = await api.getRun({ runId: details.run.id });
      expect(after.run.status).toBe(ends);
      expect(details.run.status).toBe(ends);
      if (ends === 'done') {
        expect(details.run.error ?? null).toBeNull();
        expect(after.run.error ?? null).toBeNull();
        await checkKept(after, 6);
      } else {
        expect(details.run.error).toEqual({
          code: 'CANCELLED',
          message: `cancelled while ${STAGE_ACTIVITIES[stage!]}; ${keptPairs(3)}`,
        });
        // The last step's pairs are compared in one call: all of them or none, never some.
        await checkKept(after, 3);
      }
    }, 180_000);
  }
});

describe('the model process killed mid-run', () => {
  it('fails the run with the signal named, keeps the finished pairs; the next run gets a new process', async () => {
    await api.clearCache({});
    launcher.rules = [{ model: /plain-d1-s1\.onnx$/, on: 'run', run: 6, action: 'kill' }];
    let details: RunDetails;
    try {
      details = await runWith('model process killed', () => undefined);
    } finally {
      launcher.rules = [];
    }
    expect(details.run.status).toBe('failed');
    expect(details.run.error!.code).toBe('RUNTIME');
    expect(details.run.error!.message).toMatch(
      /plain-d1-s1\.onnx: the model runner crashed while running batch \d+\/10 \(killed by SIGKILL\)$/,
    );
    await checkKept(details, 3);
    const killed = launcher.spawned.find((p) => p.faults.some((f) => f.action === 'kill'))!;
    await checkRerun(details);
    expect(launcher.spawned.at(-1)!.pid).not.toBe(killed.pid);
  }, 180_000);
});

describe('the disk full while the cache is written', () => {
  const cases: { what: string; file: RegExp; stage: string; pairs: number }[] = [
    // The second batch of c's first layer: a row block half written.
    { what: "an activation file of c's", file: /\/activations\/.*\.npy$/, stage: 'extract', pairs: 3 },
    // The manifest that would list c's finished files.
    { what: "c's activation manifest", file: /\/activations\/.*manifest\.json$/, stage: 'extract', pairs: 3 },
    // A Gram of c's being spilled.
    { what: "a Gram of c's", file: /\/grams\/.*\.npy$/, stage: 'kernels', pairs: 3 },
  ];
  for (const { what, file, stage, pairs } of cases) {
    it(`writing ${what}: the run fails DISK_FULL naming the file, nothing half-written is indexed or listed`, async () => {
      await api.clearCache({});
      let armed = false;
      let failedAt = '';
      const details = await runWith(`disk full: ${what}`, (e) => {
        if (armed || e.type !== 'progress' || e.progress.model !== 'c' || e.progress.stage !== stage) return;
        armed = true;
        armWriteFault((path, offset) => {
          if (!file.test(path) || (stage === 'extract' && path.endsWith('.npy') && offset < 4096)) return null;
          // One file meets the full disk (Grams are written a few at once: the others go through).
          if (failedAt !== '' && failedAt !== path) return null;
          failedAt = path;
          return diskFull();
        });
      });
      armWriteFault(null);
      expect(failedAt).not.toBe('');
      expect(details.run.status).toBe('failed');
      expect(details.run.error).toEqual({ code: 'DISK_FULL', message: `${failedAt}: no space left on device` });
      await checkKept(details, pairs);
      // What the full disk interrupted is not in the cache: the re-run extracts or computes it again.
      await checkRerun(details);
    }, 180_000);
  }
});

describe('the database locked by another process', () => {
  it('a lock shorter than the busy timeout is waited out: the run completes', async () => {
    await api.clearCache({});
    const locker = await databaseLocker(join(dataDir, 'workbench.db'));
    try {
      let locking: Promise<void> | null = null;
      const details = await runWith('database locked for 3 s', (e) => {
        if (!locking && e.type === 'progress' && e.progress.model === 'c' && e.progress.stage === 'kernels') {
          locking = locker.lock(3000);
        }
      });
      expect(locking).not.toBeNull();
      await locker.released();
      expect(details.run.status).toBe('done');
      await checkKept(details, 6);
    } finally {
      await locker.close();
    }
  }, 120_000);

  it('a lock held past the busy timeout fails the run with the reason, keeping the finished pairs', async () => {
    await api.clearCache({});
    const locker = await databaseLocker(join(dataDir, 'workbench.db'));
    let details: RunDetails;
    try {
      let locking: Promise<void> | null = null;
      details = await runWith('database locked for 16 s', (e) => {
        if (!locking && e.type === 'progress' && e.progress.model === 'c' && e.progress.stage === 'kernels') {
          locking = locker.lock(16_000);
        }
      });
      expect(locking).not.toBeNull();
      await locker.released();
    } finally {
      await locker.close();
    }
    expect(details.run.status).toBe('failed');
    expect(details.run.error).toEqual({
      code: 'TIMEOUT',
      message: 'the workbench database stayed locked by another process (a second workbench or a script) for too long',
    });
    // The history says so once the lock is gone, and what was finished before is there.
    expect((await api.getRun({ runId: details.run.id })).run.status).toBe('failed');
    await checkKept(details, 3);
    await checkRerun(details);
  }, 120_000);
});

describe('a real full disk (a small tmpfs as the activation cache, where mounting is allowed)', () => {
  const mountPoint = () => join(realDiskDir, 'activations');
  let realDiskDir = '';
  let mounted = false;
  beforeAll(() => {
    realDiskDir = tempDataDir('ckawb-faults-tmpfs-');
    mkdirSync(mountPoint(), { recursive: true });
    if (process.getuid?.() !== 0) return;
    mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=160m', 'tmpfs', mountPoint()]).status === 0;
  });
  afterAll(() => {
    if (mounted) spawnSync('umount', [mountPoint()]);
  });

  /** Another program fills the disk at once: `left` bytes stay free. */
  function fillDisk(left: number): void {
    const { bavail, bsize } = statfsSync(mountPoint());
    const free = bavail * bsize;
    const fd = openSync(join(mountPoint(), 'someone-elses.bin'), 'a');
    try {
      const chunk = Buffer.alloc(8 * 2 ** 20, 1);
      for (let todo = free - left; todo > 0; todo -= chunk.length)
        writeSync(fd, chunk, 0, Math.min(todo, chunk.length));
    } finally {
      closeSync(fd);
    }
  }

  it('a run that cannot fit is refused before it writes; ENOSPC mid-run fails it with DISK_FULL, nothing partial left or indexed', async (context) => {
    if (!mounted) {
      console.log('skipped: mounting a tmpfs needs root here');
      context.skip();
    }
    const small = createWorkbench({ dataDir: realDiskDir, threads: 1 });
    try {
      await small.openModel({ path: zoo('plain-d1-s0') });
      const experiment = await small.createExperiment({
        spec: {
          ...family,
          name: 'real full disk',
          kind: 'self',
          models: [family.models[0]!],
          // Minibatch CKA needs every layer's rows: all of them are written to the cache.
          measures: ['minibatch:100'],
          options: { batchSize: 50 },
        },
      });
      // The disk is full from the start: the preflight refuses the run, which writes nothing.
      fillDisk(512 * 1024);
      const refused = await runExperimentToEnd(small, experiment.id);
      expect(refused.run.status).toBe('failed');
      expect(refused.run.error!.code).toBe('DISK_FULL');
      expect(refused.run.error!.message).toMatch(
        /^this would write about [\d.]+ MiB to the workbench's cache \(.*\), and its disk has [\d.]+ KiB free/,
      );
      expect(readdirSync(mountPoint())).toEqual(['someone-elses.bin']);
      // The disk fills up while the run extracts: the write fails for real.
      rmSync(join(mountPoint(), 'someone-elses.bin'));
      let filled = false;
      const off = small.subscribe((e) => {
        if (filled || e.type !== 'progress' || e.progress.stage !== 'extract') return;
        filled = true;
        fillDisk(256 * 1024);
      });
      const details = await runExperimentToEnd(small, experiment.id);
      off();
      expect(filled).toBe(true);
      expect(details.run.status).toBe('failed');
      expect(details.run.error!.code).toBe('DISK_FULL');
      expect(details.run.error!.message).toMatch(
        new RegExp(`^${mountPoint()}/[0-9a-f]{64}/[0-9a-f]{64}/.+\\.npy: no space left on device$`),
      );
      const files = readdirSync(mountPoint(), { recursive: true }) as string[];
      expect(files.filter((f) => isTempName(f.split('/').pop()!))).toEqual([]);
      const info = await small.getCacheInfo({});
      expect(info.activations.entries).toBe(0);
      expect(info.pinned).toBe(0);
    } finally {
      await small.close();
    }
  }, 120_000);
});
