/**
 * The history from the command line: `sanity … --json` names its run, `runs export RUN --pair I,J`
 * gives that ordered pair's matrix (the stored one, or the transpose of the other order) as JSON
 * and as a figure naming both models in the style the flags ask for, `runs tag` / `runs note` /
 * `runs list --search` find runs again, and every `runs` command takes a unique id prefix.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExperimentResult, RunInfo, SimilarityMatrix } from '../../app/common/contract.js';
import { cli, removeTempDataDirs, tempDataDir, zoo } from '../helpers/experiments.js';

const seeds = [0, 1, 2, 3].map((s) => zoo(`plain-d1-s${s}`));
let dir: string;
let result: ExperimentResult & { runId: string };

const runCli = async (...args: string[]) => cli([...args, '--data-dir', dir]);
const sanityArgs = (out: string) =>
  ['sanity', ...seeds, '--probe', 'fashion-mnist:120', '--layers', 'op:Relu'].concat([
    '--measure',
    'linear',
    '--measure',
    'rbf:0.5',
    '--json',
    out,
  ]);

beforeAll(async () => {
  dir = tempDataDir('ckawb-runs-cli-');
  const out = join(dir, 'sanity.json');
  const { code, stderr } = await runCli(...sanityArgs(out), '--quiet');
  expect(stderr).toBe('');
  expect(code).toBe(0);
  result = JSON.parse(readFileSync(out, 'utf8')) as typeof result;
}, 240_000);
afterAll(() => removeTempDataDirs());

const stored = (rows: number, cols: number, measure: string) =>
  result.matrices.find((m) => m.rows.model === rows && m.cols.model === cols && m.measure.name === measure)!;

describe('runs from the command line', () => {
  it('sanity --json names the run it made', async () => {
    const list = JSON.parse((await runCli('runs', 'list', '--json')).stdout) as RunInfo[];
    expect(list.map((r) => r.id)).toEqual([result.runId]);
    expect(result.runId).toMatch(/^run-/);
  });

  it('exports the ordered pair (3, 1) as JSON and as a figure naming both models, by an id prefix', async () => {
    const prefix = result.runId.slice('run-'.length, 'run-'.length + 6);
    const json = join(dir, 'pair.json');
    expect((await runCli('runs', 'export', prefix, '--pair', '3,1', '--format', 'json', '--out', json)).code).toBe(0);
    const pair = JSON.parse(readFileSync(json, 'utf8')) as SimilarityMatrix;
    expect(pair).toEqual(stored(3, 1, 'linear'));
    expect([pair.rows.label, pair.cols.label]).toEqual(['plain-d1-s3.onnx', 'plain-d1-s1.onnx']);
    // CKA is symmetric: the (1, 3) matrix is the transpose of (3, 1).
    const other = stored(1, 3, 'linear').matrix;
    pair.matrix.forEach((row, r) => row.forEach((v, c) => expect(v).toBe(other[c]![r])));

    // The second measure (rbf), in a paper's style.
    const svg = join(dir, 'pair.svg');
    const made = await runCli(
      ...['runs', 'export', prefix, '--pair', '3,1', '--measure', '1', '--format', 'svg', '--out', svg],
      ...['--labels', 'indices', '--origin', 'bottom', '--font-size', '13', '--width', '480'],
    );
    expect(made.code).toBe(0);
    const figure = readFileSync(svg, 'utf8');
    expect(figure).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="480"/);
    expect(figure).toContain('plain-d1-s3.onnx vs plain-d1-s1.onnx');
    expect(figure).toContain('RBF CKA (threshold 0.5)');
    expect(figure).toContain('rows: model D: plain-d1-s3.onnx (layer 1, 2, …)');
    expect(figure).toContain('font-size="13"');
  });

  it('names what is wrong with a pair or a figure option', async () => {
    const missing = await runCli('runs', 'export', result.runId, '--pair', '3,7', '--format', 'json');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('the run has 4 models (0–3); there is no model 7');
    const font = await runCli('runs', 'export', result.runId, '--pair', '0,1', '--format', 'svg', '--font-size', '99');
    expect(font.stderr).toContain('the font size must be 6–32 px');
  });

  it('tags and notes a run, and finds it by search', async () => {
    const prefix = result.runId.slice(0, 12);
    expect((await runCli('runs', 'tag', prefix, 'paper', 'fig-2')).stdout).toContain('tags fig-2 paper');
    expect((await runCli('runs', 'note', prefix, 'seeds', '0–3,', '120', 'images')).code).toBe(0);
    const search = async (text: string) =>
      (JSON.parse((await runCli('runs', 'list', '--search', text, '--json')).stdout) as RunInfo[]).map((r) => r.id);
    expect(await search('tag:paper')).toEqual([result.runId]);
    expect(await search('plain-d1-s3 rbf images')).toEqual([result.runId]);
    const shown = (await runCli('runs', 'show', prefix)).stdout;
    expect(shown).toContain('tags: fig-2 paper');
    expect(shown).toContain('note: seeds 0–3, 120 images');
  });

  it('refuses a prefix no run has', async () => {
    const none = await runCli('runs', 'show', 'ffffffff');
    expect(none.code).toBe(1);
    expect(none.stderr).toContain("no run has an id starting with 'ffffffff'");
  });

  it('the same sanity command again takes the finished run’s result, saying so', async () => {
    const out = join(dir, 'again.json');
    const again = await runCli(...sanityArgs(out));
    expect(again.code).toBe(0);
    expect(again.stderr).toBe(`the inputs are those of run ${result.runId}: its result, nothing computed\n`);
    const repeated = JSON.parse(readFileSync(out, 'utf8')) as typeof result;
    expect(repeated.runId).not.toBe(result.runId);
    expect(repeated.provenance.repeatOf).toBe(result.runId);
    expect(repeated.matrices).toEqual(result.matrices);
    expect(repeated.seeds).toEqual(result.seeds);
    const shown = (await runCli('runs', 'show', repeated.runId)).stdout;
    expect(shown).toContain(
      `the inputs of run ${result.runId} (the same spec and file contents): its result, nothing computed`,
    );
  });
});
