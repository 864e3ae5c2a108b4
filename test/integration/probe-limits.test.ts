/**
 * Probes too large to be a probe, and runs too large for the disk. A 4 MB .npz declaring 33.5
 * million examples (4 GiB of zeros, deflated) is refused when it is opened; the cap (a million by
 * default) is set per workbench, by CKA_WORKBENCH_MAX_PROBE_EXAMPLES or the command line. Before a
 * run starts, what it will write (activations and Grams the cache lacks) is checked against the
 * cache limit and the free space of the disk, and a run that cannot fit fails in its prepare stage
 * with DISK_FULL, having written nothing. The estimate is checked against the bytes a real run
 * writes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ExperimentSpec } from '../../app/common/contract.js';
import type { WorkbenchError } from '../../app/common/errors.js';
import { maxProbeExamplesFromEnv } from '../../app/api/probe-limit.js';
import { createWorkbench, type Workbench } from '../../app/api/workbench.js';
import { activationFileBytes, estimateWrites, gramFileBytes } from '../../app/engine/activations/write-estimate.js';
import { checkRoomToWrite, freeBytes } from '../../app/engine/io/disk-space.js';
import { writeNpzBomb } from '../helpers/npz-bomb.js';
import { removeTempDataDirs, runSpec, tempDataDir } from '../helpers/experiments.js';
import { cliBin, tinyCnn } from '../helpers/paths.js';

const run = promisify(execFile);
const BOMB_ROWS = 33_554_432;

let root: string;
let bomb: string;
const workbenches: Workbench[] = [];
const workbench = (options: Parameters<typeof createWorkbench>[0]) => {
  const api = createWorkbench({ threads: 1, trustCaller: true, ...options });
  workbenches.push(api);
  return api;
};

beforeAll(() => {
  root = tempDataDir('ckawb-limits-');
  bomb = join(root, 'bomb.npz');
  const { compressedBytes, size } = writeNpzBomb(bomb, BOMB_ROWS, 32);
  expect(compressedBytes).toBeLessThan(5 * 2 ** 20);
  expect(size).toBeGreaterThan(4 * 2 ** 30);
});

afterAll(async () => {
  for (const api of workbenches) await api.close();
  removeTempDataDirs();
});

const selfSpec = (probe: string, measures = ['linear']): ExperimentSpec => ({
  name: 'limits',
  kind: 'self',
  models: [{ path: tinyCnn }],
  probe,
  layers: 'all',
  measures,
});

describe('the probe size cap', () => {
  it('refuses the 4 MB npz bomb of 33.5 million examples when it is opened, with or without a model', async () => {
    const api = workbench({ dataDir: join(root, 'data-bomb') });
    for (const request of [{ spec: `npz:${bomb}` }, { spec: `npz:${bomb}:x` }]) {
      const err = (await api.openProbe(request).catch((e: unknown) => e)) as WorkbenchError;
      expect(err.code).toBe('BAD_PROBE');
      expect(err.message).toContain(`probe npz:${bomb}:x: 33,554,432 examples is more than the 1,000,000`);
    }
    // Every kind of probe has the same cap: N random examples too.
    const random = (await api.openProbe({ spec: 'random:1000001', model: tinyCnn }).catch((e: unknown) => e)) as Error;
    expect(random.message).toMatch(/1,000,001 examples is more than the 1,000,000/);
  });

  it('is configurable: a workbench option, the environment, the command line', async () => {
    const raised = workbench({ dataDir: join(root, 'data-raised'), maxProbeExamples: 40_000_000 });
    const info = await raised.openProbe({ spec: `npz:${bomb}` });
    expect([info.n, info.exampleShape]).toEqual([BOMB_ROWS, [32]]);
    const lowered = workbench({ dataDir: join(root, 'data-lowered'), maxProbeExamples: 10 });
    await expect(lowered.openProbe({ spec: 'random:11', model: tinyCnn })).rejects.toThrow(
      /11 examples is more than the 10 the workbench takes/,
    );
    expect((await lowered.openProbe({ spec: 'random:10', model: tinyCnn })).n).toBe(10);
    expect(maxProbeExamplesFromEnv({ CKA_WORKBENCH_MAX_PROBE_EXAMPLES: '250' })).toBe(250);
    expect(() => maxProbeExamplesFromEnv({ CKA_WORKBENCH_MAX_PROBE_EXAMPLES: '1e3' })).toThrow(/whole number/);
    const out = join(root, 'cli-out');
    const cli = await run(
      process.execPath,
      [
        cliBin,
        'extract',
        tinyCnn,
        '--probe',
        'random:12',
        '--layers',
        'all',
        '--out',
        out,
        '--max-probe-examples',
        '8',
      ],
      { env: { ...process.env, CKA_WORKBENCH_DATA_DIR: join(root, 'data-cli') } },
    ).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(cli.code).toBe(1);
    expect(cli.stderr.trim().split('\n')).toEqual([
      'cka-workbench: error: probe random:12:0: 12 examples is more than the 8 the workbench takes ' +
        '(raise the limit with --max-probe-examples or CKA_WORKBENCH_MAX_PROBE_EXAMPLES)',
    ]);
    expect(existsSync(out)).toBe(false);
  });
});

/** Sizes of the files under `dir`, recursively. */
function filesUnder(dir: string): { path: string; bytes: number }[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => ({ path: join(e.parentPath, e.name), bytes: statSync(join(e.parentPath, e.name)).size }));
}

describe('the preflight before a run', () => {
  it('estimates what a run writes to within the files’ headers', async () => {
    const dataDir = join(root, 'data-estimate');
    const api = workbench({ dataDir });
    const details = await runSpec(api, selfSpec('random:64'));
    expect(details.run.status).toBe('done');
    const files = filesUnder(join(dataDir, 'activations'));
    const manifests = files.filter((f) => f.path.endsWith('manifest.json'));
    expect(manifests).toHaveLength(1);
    const manifest = JSON.parse(readFileSync(manifests[0]!.path, 'utf8')) as {
      layers: { file: string; features: number }[];
    };
    const layers = details.result!.models[0]!.layers.length;
    // Layers wider than the 64 examples keep only their Grams (made in the runner); the others
    // their activations too. The tiny CNN has both.
    const gramFeatures = filesUnder(join(dataDir, 'grams'))
      .filter((f) => f.path.endsWith('.json'))
      .map((f) => (JSON.parse(readFileSync(f.path, 'utf8')) as { features: number }).features);
    const narrow = gramFeatures.filter((p) => p <= 64).length;
    expect(narrow).toBeGreaterThan(0);
    expect(narrow).toBeLessThan(layers);
    expect(manifest.layers.map((l) => l.features).sort((a, b) => a - b)).toEqual(
      gramFeatures.filter((p) => p <= 64).sort((a, b) => a - b),
    );
    // Each activation file: within an .npy header of n × features float32 values.
    const features = manifest.layers.map((l) => l.features);
    let written = 0;
    for (const layer of manifest.layers) {
      const bytes = statSync(join(manifests[0]!.path, '..', layer.file)).size;
      const estimated = activationFileBytes(64, layer.features);
      expect(estimated).toBeGreaterThanOrEqual(bytes);
      expect(estimated - bytes).toBeLessThanOrEqual(256);
      written += bytes;
    }
    const grams = filesUnder(join(dataDir, 'grams'));
    expect(grams).toHaveLength(2 * layers); // .npy + .json each
    const gramBytes = grams.reduce((sum, f) => sum + f.bytes, 0);
    // Computed in float32, the Grams are stored as float32 (exactly their values).
    expect(layers * gramFileBytes(64, 4)).toBeGreaterThanOrEqual(gramBytes);
    expect(gramBytes).toBeGreaterThan(layers * ((64 * 65) / 2) * 4);
    written += gramBytes;
    const estimate = estimateWrites(64, features, layers, 4);
    expect(estimate.bytes).toBeGreaterThanOrEqual(written);
    expect(estimate.bytes - written).toBeLessThan(layers * 5000);
    // What the cache index counts is what the estimate is compared with.
    expect((await api.getCacheInfo({})).bytes).toBe(written);

    // Over half the limit: the run goes ahead, with a warning naming the estimate and the limit.
    const warned = workbench({ dataDir: join(root, 'data-warn'), cacheLimitBytes: Math.floor(estimate.bytes * 1.5) });
    const warnings: { runId?: string; message: string }[] = [];
    warned.subscribe((e) => {
      if (e.type === 'log' && e.level === 'warn') warnings.push(e);
    });
    const again = await runSpec(warned, selfSpec('random:64'));
    expect(again.run.status).toBe('done');
    expect(warnings).toEqual([
      {
        type: 'log',
        level: 'warn',
        runId: again.run.id,
        message: expect.stringMatching(
          /^this will write about [\d.]+ [KM]iB to the workbench's cache \(.*\), more than half the cache limit of [\d.]+ [KM]iB: older cache entries will be evicted/,
        ),
      },
    ]);
  });

  it('refuses a run whose writes exceed the cache limit, before extracting anything', async () => {
    const dataDir = join(root, 'data-limit');
    const api = workbench({ dataDir, cacheLimitBytes: 2 ** 20 });
    const details = await runSpec(api, selfSpec('random:2000'));
    expect(details.run.status).toBe('failed');
    expect(details.run.error?.code).toBe('DISK_FULL');
    expect(details.run.error?.message).toMatch(
      /^this would write about [\d.]+ MiB to the workbench's cache \(activations of \d+ layers × 2,000 examples, .*; \d+ Grams of 2,000², .*\), more than the cache limit of 1\.0 MiB; raise the cache limit, or use fewer examples or layers, a 'mean' reduction or a minibatch measure \(minibatch:100\), which computes no n² Grams$/,
    );
    expect(filesUnder(join(dataDir, 'activations'))).toEqual([]);
    expect(filesUnder(join(dataDir, 'grams'))).toEqual([]);
  });

  it('refuses a run the disk cannot hold (a million examples: terabytes of Grams), saying how much is free', async () => {
    const dataDir = join(root, 'data-disk');
    const api = workbench({ dataDir, cacheLimitBytes: 2 ** 60 });
    const details = await runSpec(api, selfSpec('random:1000000'));
    expect(details.run.status).toBe('failed');
    expect(details.run.error?.code).toBe('DISK_FULL');
    expect(details.run.error?.message).toMatch(
      /^this would write about [\d.]+ TiB to the workbench's cache .* and its disk has [\d.]+ [GMT]iB free/,
    );
    expect(filesUnder(join(dataDir, 'activations'))).toEqual([]);
    // The check itself, against the real free space of a folder that does not exist yet.
    const free = await freeBytes(join(dataDir, 'not', 'yet'));
    expect(free).toBeGreaterThan(0);
    await expect(checkRoomToWrite(join(dataDir, 'out'), { bytes: free, what: 'x' })).rejects.toMatchObject({
      code: 'DISK_FULL',
    });
    await expect(checkRoomToWrite(join(dataDir, 'out'), { bytes: 1024, what: 'x' })).resolves.toBeUndefined();
  });
});
