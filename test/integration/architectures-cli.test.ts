/**
 * The command lines of the "any architecture" acceptance, run as a user runs them: a two-input
 * text encoder on an npz of token ids (`--reduce tokens`: n is the number of valid tokens), two
 * input pipelines of the same images (`--probe-b`, `--reduce mean`), `--layers all` on the zoo's
 * ViT (every selected layer in rows/cols or in `omitted`), and a bad input as one line.
 * The values themselves are checked against the torch references in architectures-text/views.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { createWorkbench } from '../../app/api/workbench.js';
import type { CompareDocument } from '../../app/cli/commands/compare.js';
import { removeTempDataDirs, tempDataDir, zoo } from '../helpers/experiments.js';
import { cliBin, fixturesDir } from '../helpers/paths.js';

const run = promisify(execFile);
const text = join(fixturesDir, 'text');
const views = join(fixturesDir, 'views');
const out = mkdtempSync(join(tmpdir(), 'cli-arch-'));
const dataDir = tempDataDir('ckawb-cli-arch-');
afterAll(() => removeTempDataDirs());

async function cli(...args: string[]) {
  try {
    const { stdout, stderr } = await run(process.execPath, [cliBin, ...args, '--cache', join(dataDir, 'cache')]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const maxDiff = (a: (number | null)[][], b: (number | null)[][]) =>
  Math.max(...b.flatMap((row, r) => row.map((v, c) => Math.abs((a[r]![c] as number) - (v as number)))));

describe('compare on other architectures, from the command line', () => {
  it('a two-input text encoder, --reduce tokens: n is the valid tokens and the matrix the reference', async () => {
    const reference = (
      JSON.parse(readFileSync(join(text, 'expected_cka.json'), 'utf8')) as {
        cases: { name: string; rows: { layers: string[] }; matrix: (number | null)[][] }[];
      }
    ).cases.find((c) => c.name === 'text_encoder self, tokens')!;
    const json = join(out, 'tokens.json');
    const result = await cli(
      'compare',
      join(text, 'text_encoder.onnx'),
      '--probe',
      `npz:${join(text, 'probe_tokens.npz')}`,
      '--layers',
      reference.rows.layers.join(','),
      '--reduce',
      'tokens',
      '--measure',
      'linear',
      '--precision',
      'float64',
      '--json',
      json,
    );
    expect(result.code, result.stderr).toBe(0);
    const doc = JSON.parse(readFileSync(json, 'utf8')) as CompareDocument;
    expect(doc.n).toBe(253);
    expect(doc.rows.layers.every((l) => l.reduction === 'tokens')).toBe(true);
    const order = reference.rows.layers.map((t) => doc.rows.layers.findIndex((l) => l.tensor === t));
    const matrix = order.map((r) => order.map((c) => doc.matrix[r]![c]!));
    expect(maxDiff(matrix, reference.matrix)).toBeLessThan(1e-5);
  }, 60_000);

  it('two views of the same images: --probe-b and --reduce mean', async () => {
    const expected = JSON.parse(readFileSync(join(views, 'expected_cka_mean.json'), 'utf8')) as {
      matrix: number[][];
    };
    const json = join(out, 'views.json');
    const result = await cli(
      'compare',
      join(views, 'a.onnx'),
      join(views, 'b.onnx'),
      '--probe',
      `npy:${join(views, 'probe_a.npy')}`,
      '--probe-b',
      `npy:${join(views, 'probe_b.npy')}`,
      '--layers',
      'op:Relu',
      '--reduce',
      'mean',
      '--json',
      json,
    );
    expect(result.code, result.stderr).toBe(0);
    const doc = JSON.parse(readFileSync(json, 'utf8')) as CompareDocument;
    expect(doc.rows.probe!.spec).not.toBe(doc.cols.probe!.spec);
    expect(maxDiff(doc.matrix, expected.matrix)).toBeLessThan(1e-4);
  }, 60_000);

  it('--layers all on the ViT: every selected layer is in rows/cols or omitted with its reason', async () => {
    const api = createWorkbench({ dataDir: tempDataDir(), trustCaller: true });
    const catalogue = (await api.inspectModel({ path: zoo('vit-s0') })).layers.map((l) => l.tensor);
    await api.close();
    const json = join(out, 'vit.json');
    const result = await cli(
      'compare',
      zoo('vit-s0'),
      '--probe',
      'fashion-mnist:40',
      '--layers',
      'all',
      '--json',
      json,
    );
    expect(result.code, result.stderr).toBe(0);
    const doc = JSON.parse(readFileSync(json, 'utf8')) as CompareDocument;
    const compared = doc.rows.layers.map((l) => l.tensor);
    const omitted = doc.omitted.map((o) => o.tensor);
    expect([...compared, ...omitted].sort()).toEqual([...catalogue].sort());
    expect(omitted.length).toBeGreaterThan(0);
    expect(doc.omitted.every((o) => o.reason.length > 10)).toBe(true);
    // The attention probabilities [batch·4, 17, 17] are regrouped, not dropped.
    expect(compared).toContain('/blocks.0/attn/softmax/Softmax_output_0');
    // The list is printed, too.
    expect(result.stderr).toMatch(new RegExp(`^omitted \\(${omitted.length} selected layers not compared\\):$`, 'm'));
  }, 120_000);

  it('a text probe without a tokenizer: one line, exit code 1', async () => {
    const result = await cli(
      'compare',
      join(text, 'text_encoder.onnx'),
      '--probe',
      `text:${join(text, 'sentences.txt')}`,
      '--layers',
      'last_hidden_state',
    );
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/^cka-workbench: error: probe text:.*needs the model's tokenizer/);
  }, 60_000);
});
