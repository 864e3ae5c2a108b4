/**
 * `cka-workbench compare` end to end: the JSON document (measure, n, rows/cols with provenance,
 * matrix with nulls and reasons, intervals, timings, app version), the table, the probe checks and
 * one-line errors.
 */
import { execFile } from 'node:child_process';
import { promises as fs, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { cliBin, fixturesDir, tinyCnn } from '../helpers/paths.js';

const run = promisify(execFile);
const cka = join(fixturesDir, 'cka');
const expected = JSON.parse(readFileSync(join(cka, 'expected.json'), 'utf8')) as {
  wide: { linear: number[][]; debiased: number[][] };
};

async function cli(...args: string[]) {
  try {
    const { stdout, stderr } = await run(process.execPath, [cliBin, ...args]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

async function extractDir(
  root: string,
  name: string,
  files: string[],
  probe: { spec: string; hash: string },
): Promise<string> {
  const dir = join(root, name);
  await fs.mkdir(dir, { recursive: true });
  for (const f of files) await fs.copyFile(join(cka, `${f}.npy`), join(dir, `${f}.npy`));
  const manifest = {
    model: { path: `/models/${name}.onnx`, sha256: name.padEnd(64, '0').slice(0, 64) },
    probe: { ...probe, n: 36 },
    layers: files.map((f) => ({
      tensor: `/${f}/Relu_output_0`,
      name: `${f}.relu`,
      op: 'Relu',
      shape: [8, 6, 6],
      features: 288,
      file: `${f}.npy`,
    })),
  };
  await fs.writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest));
  return dir;
}

describe('cka-workbench compare', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'cli-compare-'));

  it('writes the result document for two extract directories', async () => {
    const probe = { spec: 'random:36:1', hash: 'f'.repeat(32) };
    const a = await extractDir(scratch, 'a', ['wide_a0', 'wide_a1', 'wide_a2'], probe);
    const b = await extractDir(scratch, 'b', ['wide_b0', 'wide_b1'], probe);
    const out = join(scratch, 'result.json');
    const { code, stderr } = await cli(
      'compare',
      a,
      b,
      '--probe',
      'random:36:1',
      '--measure',
      'debiased',
      '--bootstrap',
      '20',
      '--seed',
      '4',
      '--threads',
      '2',
      '--json',
      out,
    );
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const doc = JSON.parse(await fs.readFile(out, 'utf8'));
    expect(doc.measure).toEqual({ name: 'debiased', params: {} });
    expect(doc.n).toBe(36);
    expect(doc.rows).toMatchObject({
      path: a,
      kind: 'extract',
      sha256: 'a'.padEnd(64, '0'),
      probe: { spec: 'random:36:1', n: 36 },
    });
    expect(doc.rows.layers).toEqual(
      ['wide_a0', 'wide_a1', 'wide_a2'].map((f) => ({ tensor: `/${f}/Relu_output_0`, name: `${f}.relu` })),
    );
    expect(doc.cols.layers.map((l: { name: string }) => l.name)).toEqual(['wide_b0.relu', 'wide_b1.relu']);
    doc.matrix.forEach((row: number[], r: number) =>
      row.forEach((v, c) => expect(v).toBeCloseTo(expected.wide.debiased[r]![c]!, 6)),
    );
    expect(doc.undefined).toEqual([]);
    expect(doc.ci).toMatchObject({ samples: 20, seed: 4, level: 0.95, resampled: 'examples' });
    expect(doc.ci.lo).toHaveLength(3);
    expect(doc.timings.total).toBeGreaterThan(0);
    expect(doc.app).toMatchObject({ name: 'CKA Workbench', version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
  });

  it('prints a table with layer names, A against itself, and several measures', async () => {
    const { code, stdout } = await cli(
      'compare',
      join(cka, 'wide_a0.npy'),
      '--measure',
      'linear',
      '--measure',
      'minibatch:10',
    );
    expect(code).toBe(0);
    expect(stdout).toMatch(/^linear CKA, n = 36/m);
    expect(stdout).toMatch(/wide_a0\s+1\.000/);
    expect(stdout).toMatch(/minibatch CKA \(batchSize=10, batches=3, droppedExamples=6\), n = 30/);
    expect(stdout).toMatch(/3 batches of 10; 6 examples of the last partial batch left out/);
  });

  it('refuses sides extracted on different probe sets, or not on the requested one', async () => {
    const a = await extractDir(scratch, 'p1', ['wide_a0'], { spec: 'random:36:1', hash: '1'.repeat(32) });
    const b = await extractDir(scratch, 'p2', ['wide_b0'], { spec: 'random:36:2', hash: '2'.repeat(32) });
    const different = await cli('compare', a, b);
    expect(different.code).toBe(1);
    expect(different.stderr).toMatch(/were extracted on different probe sets \('random:36:1'.*'random:36:2'/);
    const wrongProbe = await cli('compare', a, '--probe', 'fashion-mnist:100');
    expect(wrongProbe.stderr).toMatch(/was extracted with probe 'random:36:1', not 'fashion-mnist:100'/);
  });

  it('runs ONNX models on the probe, equal to comparing their extract directories', async () => {
    const cache = join(scratch, 'activation-cache');
    const out = join(scratch, 'models.json');
    const first = await cli(
      'compare',
      tinyCnn,
      '--probe',
      'random:40:3',
      '--layers',
      'op:Relu,Gemm',
      '--measure',
      'linear',
      '--cache',
      cache,
      '--json',
      out,
    );
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const doc = JSON.parse(await fs.readFile(out, 'utf8'));
    expect(doc.rows).toMatchObject({
      kind: 'model',
      path: tinyCnn,
      sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      probe: { spec: 'random:40:3', n: 40 },
    });
    expect(doc.rows.layers.map((l: { name: string }) => l.name)).toEqual(['stage1.relu', 'stage2.relu', 'head']);
    doc.matrix.forEach((row: number[], r: number) => expect(row[r]).toBeCloseTo(1, 12));
    // the same activations extracted to a directory, then compared from there
    const dir = join(scratch, 'tiny-extract');
    const extracted = await cli('extract', tinyCnn, '--probe', 'random:40:3', '--layers', 'op:Relu,Gemm', '--out', dir);
    expect(extracted.code).toBe(0);
    const fromDir = join(scratch, 'dir.json');
    await cli('compare', dir, '--layers', 'op:Relu,Gemm', '--measure', 'linear', '--json', fromDir);
    expect(JSON.parse(await fs.readFile(fromDir, 'utf8')).matrix).toEqual(doc.matrix);
  });

  it('fails with one line and exit code 1: models without a probe, bad measures, mismatched n', async () => {
    for (const [args, pattern] of [
      [[tinyCnn], /tiny_cnn\.onnx: comparing models needs --probe/],
      [
        [join(cka, 'wide_a0.npy'), '--measure', 'rbf:x'],
        /measure 'rbf:x': the RBF threshold must be a positive number/,
      ],
      [[join(cka, 'wide_a0.npy'), join(cka, 'narrow_a0.npy')], /mismatched number of examples/],
      [[join(scratch, 'nowhere')], /nowhere: no such file or directory/],
    ] as const) {
      const { code, stdout, stderr } = await cli('compare', ...args);
      expect(code).toBe(1);
      expect(stdout).toBe('');
      expect(stderr).toMatch(pattern);
      expect(stderr.trim().split('\n')).toHaveLength(1);
    }
  });
});
