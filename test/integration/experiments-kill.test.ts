/**
 * Killing the process in the middle of a run (SIGKILL during extraction, as a crash or a power cut
 * would) and starting again: the database opens cleanly, the run shows as interrupted with the
 * reason, finished results — the earlier run's and the killed run's finished pairs — are intact,
 * and no cache entry is half-written. Running the experiment again completes it.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { ExperimentSpec, RunProgress } from '../../app/common/contract.js';
import { createWorkbench, type Workbench } from '../../app/api/workbench.js';
import { readExtractManifest } from '../../app/engine/activations/extract-dir.js';
import { isTempName } from '../../app/engine/io/atomic.js';
import { readNpyHeader } from '../../app/engine/io/npy.js';
import { Store } from '../../app/engine/store/store.js';
import { cli, runExperimentToEnd, tempDataDir, zoo, removeTempDataDirs } from '../helpers/experiments.js';
import { cliBin, repoRoot } from '../helpers/paths.js';

const dataDir = tempDataDir('ckawb-kill-');
let api: Workbench | null = null;
afterAll(async () => {
  await api?.close();
  removeTempDataDirs();
});

const family: ExperimentSpec = {
  name: 'family killed mid-run',
  kind: 'family',
  models: [
    { path: zoo('plain-d1-s0'), label: 'a' },
    { path: zoo('plain-d2-s0'), label: 'b' },
    { path: zoo('plain-d1-s1'), label: 'c' },
  ],
  probe: 'fashion-mnist:2000',
  layers: 'op:Relu',
  // Minibatch CKA needs the rows: every layer's activations are written to the cache (with exact
  // measures alone, these layers, wider than the probe, would keep only Grams made in the runner).
  measures: ['linear', 'minibatch:200'],
};

function tempFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile() && isTempName(d.name))
    .map((d) => join(d.parentPath, d.name));
}

function sha256Of(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** Checks `condition` every few milliseconds until it holds; fails after `timeoutMs`. */
async function pollUntil(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Polls the database (read-only, as another process would) until `ready` says so. */
async function waitFor<T>(read: (db: Database.Database) => T | null, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (existsSync(join(dataDir, 'workbench.db'))) {
      const db = new Database(join(dataDir, 'workbench.db'), { readonly: true, fileMustExist: true });
      try {
        const value = read(db);
        if (value !== null) return value;
      } catch {
        // Tables not created yet.
      } finally {
        db.close();
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error('timed out waiting for the run');
}

describe('a run killed mid-extraction', () => {
  it('leaves a database that opens cleanly, an interrupted run, intact results and a whole cache', async () => {
    // A finished run first: its result must survive the crash untouched.
    const selfSpec = join(dataDir, 'self.json');
    writeFileSync(
      selfSpec,
      JSON.stringify({
        name: 'finished before',
        kind: 'self',
        models: [{ path: zoo('plain-d2-s0') }],
        probe: 'fashion-mnist:300',
        layers: 'op:Relu',
        measures: ['linear'],
      }),
    );
    expect((await cli(['run', selfSpec, '--data-dir', dataDir, '--quiet'])).code).toBe(0);
    const before = (await cli(['runs', 'list', '--json', '--data-dir', dataDir])).stdout;
    const finishedRun = (JSON.parse(before) as { id: string }[])[0]!.id;
    const finishedBefore = JSON.parse(
      (await cli(['runs', 'show', finishedRun, '--json', '--data-dir', dataDir])).stdout,
    );

    const specFile = join(dataDir, 'family.json');
    writeFileSync(specFile, JSON.stringify(family));
    const child = spawn(process.execPath, [cliBin, 'run', specFile, '--data-dir', dataDir, '--quiet'], {
      cwd: repoRoot,
      stdio: 'ignore',
      // One process, the one running the experiment, killed as a crash would (not a first one that
      // only waits for it, whose death the second answers by interrupting itself).
      env: { ...process.env, CKA_WORKBENCH_HUGE_PAGES: '0' },
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on('exit', (_code, signal) => resolve(signal)),
    );
    // Kill it while it extracts the third model, after the pairs of the first two were written.
    const killedAt = await waitFor((db) => {
      const run = db
        .prepare(`SELECT id, progress_json FROM runs WHERE name = ? AND status = 'running'`)
        .get(family.name) as { id: string; progress_json: string | null } | undefined;
      if (!run?.progress_json) return null;
      const progress = JSON.parse(run.progress_json) as RunProgress;
      const { n } = db.prepare('SELECT COUNT(*) AS n FROM run_matrices WHERE run_id = ?').get(run.id) as { n: number };
      return progress.stage === 'extract' && progress.model === 'c' && n === 6 ? { runId: run.id, progress } : null;
    }, 150_000);
    // Kill it the moment the extraction of 'c' is writing: a temp file under c's activation folder.
    const cFolder = join(dataDir, 'activations', sha256Of(family.models[2]!.path));
    await pollUntil(() => tempFiles(cFolder).length > 0, 120_000, "a temp file under c's activation folder");
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    // The killed extraction left temp files behind (they are never listed, so never read).
    const leftovers = tempFiles(join(dataDir, 'activations'));

    // Reopen, as the next start of the app does.
    const store = await Store.open(dataDir, { sweepMinAgeMs: 0 });
    try {
      expect(store.db.pragma('integrity_check', { simple: true })).toBe('ok');
      const run = store.history.run(killedAt.runId);
      expect(run.status).toBe('interrupted');
      expect(run.error!.message).toMatch(
        /^interrupted: the process running it \(pid \d+\) stopped while extracting activations; the \d+ finished pairs? of models (was|were) kept$/,
      );
      expect(store.recovered.map((r) => r.id)).toEqual([killedAt.runId]);
      const parts = store.history.resultParts(killedAt.runId)!;
      expect(parts.partial).toBe(true);
      expect(parts.matrices.map((m) => `${m.rows.model},${m.cols.model}:${m.measure.name}`)).toEqual([
        '0,0:linear',
        '0,0:minibatch',
        '0,1:linear',
        '0,1:minibatch',
        '1,1:linear',
        '1,1:minibatch',
      ]);
      // No cache entry points at anything but a whole file.
      const rows = store.db.prepare('SELECT kind, path FROM cache_entries').all() as { kind: string; path: string }[];
      expect(rows.length).toBeGreaterThan(0);
      for (const row of rows) {
        const header = await readNpyHeader(join(dataDir, row.path));
        expect(header.shape.length).toBeGreaterThan(0);
      }
      // The activation cache lists only whole files; leftovers of the killed writes were swept.
      for (const sha of readdirSync(join(dataDir, 'activations'))) {
        for (const probe of readdirSync(join(dataDir, 'activations', sha))) {
          const dir = join(dataDir, 'activations', sha, probe);
          const manifest = await readExtractManifest(dir);
          for (const layer of manifest?.layers ?? []) {
            expect(isTempName(layer.file)).toBe(false);
            const header = await readNpyHeader(join(dir, layer.file));
            expect(header.shape).toEqual([manifest!.probe.n, layer.features]);
          }
        }
      }
      expect(tempFiles(join(dataDir, 'activations'))).toEqual([]);
      expect(tempFiles(join(dataDir, 'grams'))).toEqual([]);
      expect(leftovers.length).toBeGreaterThan(0);
    } finally {
      store.close();
    }

    // The earlier run is untouched; the history shows the interrupted run with its reason.
    const finishedAfter = JSON.parse(
      (await cli(['runs', 'show', finishedRun, '--json', '--data-dir', dataDir])).stdout,
    );
    expect(finishedAfter).toEqual(finishedBefore);
    const list = await cli(['runs', 'list', '--data-dir', dataDir]);
    expect(list.stdout).toMatch(/interrupted\s+family\s+family killed mid-run\s+.*interrupted: the process running it/);

    // Running it again completes it, reusing what was finished, with the same numbers for the kept pairs.
    api = createWorkbench({ dataDir });
    const interrupted = await api.getRun({ runId: killedAt.runId });
    expect(interrupted.result!.partial).toBe(true);
    const again = await runExperimentToEnd(api, interrupted.run.experimentId);
    expect(again.run.status).toBe('done');
    expect(again.result!.provenance.work).toMatchObject({ gramsReused: 9, pairsReused: 3, pairsComputed: 3 });
    expect(again.result!.matrices.slice(0, 6)).toEqual(interrupted.result!.matrices);
    expect(again.result!.matrices).toHaveLength(12);
  }, 300_000);
});
