import { describe, expect, it } from 'vitest';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { decodeModel, encodeModel } from '../../app/engine/onnx/codec.js';
import { cliBin, fixturesDir, tinyCnn } from '../helpers/paths.js';

const run = promisify(execFile);
const tmp = () => mkdtempSync(join(tmpdir(), 'extract-cli-'));

async function cli(...args: string[]) {
  return cliIn(undefined, ...args);
}

async function cliIn(cwd: string | undefined, ...args: string[]) {
  try {
    const { stdout, stderr } = await run(process.execPath, [cliBin, ...args], { timeout: 60_000, cwd });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('cka-workbench extract', () => {
  it('works from a working directory outside the checkout (the runner finds its loader)', async () => {
    const dir = tmp();
    const out = join(dir, 'acts');
    const { code, stderr } = await cliIn(
      dir,
      'extract',
      tinyCnn,
      '--probe',
      'random:4:1',
      '--layers',
      'head',
      '--out',
      out,
    );
    expect(stderr).not.toMatch(/error/);
    expect(code).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['head.npy', 'manifest.json']);
  });

  it('writes manifest.json and one [n, features] float32 .npy per layer that numpy loads', async () => {
    const out = join(tmp(), 'acts');
    const { code, stdout, stderr } = await cli(
      'extract',
      tinyCnn,
      '--probe',
      'random:10:3',
      '--layers',
      'op:Relu,Gemm',
      '--out',
      out,
      '--batch',
      '4',
    );
    expect(code).toBe(0);
    expect(stdout).toContain(`wrote 3 layer(s) × 10 examples to ${out} (manifest.json)`);
    expect(stderr).toMatch(/^extract: batch \d+\/\d+, \d+\/10 examples/m); // plain lines when stderr is not a terminal
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    expect(Object.keys(manifest)).toEqual(['model', 'probe', 'layers']);
    expect(manifest.model.path).toBe(tinyCnn);
    expect(manifest.probe).toMatchObject({ spec: 'random:10:3', n: 10 });
    expect(manifest.layers.map((l: { name: string; file: string }) => [l.name, l.file])).toEqual([
      ['stage1.relu', 'stage1.relu.npy'],
      ['stage2.relu', 'stage2.relu.npy'],
      ['head', 'head.npy'],
    ]);
    expect(readdirSync(out).sort()).toEqual(['head.npy', 'manifest.json', 'stage1.relu.npy', 'stage2.relu.npy']);
    const python = spawnSync(
      '/usr/bin/python3',
      [
        '-c',
        'import json,sys,numpy as np\n' +
          'd=sys.argv[1]; m=json.load(open(d+"/manifest.json"))\n' +
          'print(";".join("%s %s %s" % (l["name"], np.load(d+"/"+l["file"]).shape, np.load(d+"/"+l["file"]).dtype) for l in m["layers"]))',
        out,
      ],
      { encoding: 'utf8' },
    );
    expect(python.status, python.stderr).toBe(0);
    expect(python.stdout.trim()).toBe(
      'stage1.relu (10, 3136) float32;stage2.relu (10, 1568) float32;head (10, 10) float32',
    );
  });

  const dir = tmp();
  const emptyImages = join(dir, 'no-images');
  mkdirSync(emptyImages);
  writeFileSync(join(emptyImages, 'notes.txt'), 'nothing to see');
  const refused = join(dir, 'refused.onnx');
  const model = decodeModel(readFileSync(tinyCnn), 'tiny');
  model.graph!.node.find((n) => n.opType === 'Relu')!.opType = 'NoSuchOp';
  writeFileSync(refused, encodeModel(model));
  const notOnnx = join(dir, 'notes.onnx');
  writeFileSync(notOnnx, 'just text\n');
  const externalAlone = join(dir, 'external.onnx');
  writeFileSync(externalAlone, readFileSync(join(fixturesDir, 'models', 'tiny_cnn_external.onnx')));
  const x4 = join(fixturesDir, 'activations', 'probe', 'x_f4.npy');
  const out = join(dir, 'out');

  it.each([
    ['a missing model file', ['/no/such/model.onnx', '--probe', 'random:4'], /\/no\/such\/model\.onnx: no such file$/],
    ['a file that is not ONNX', [notOnnx, '--probe', 'random:4'], /notes\.onnx: not a valid ONNX model/],
    [
      'a missing probe file',
      [tinyCnn, '--probe', 'npy:/no/x.npy'],
      /probe npy:\/no\/x\.npy: \/no\/x\.npy: no such file$/,
    ],
    [
      'a probe of the wrong shape',
      [tinyCnn, '--probe', `npy:${x4}`],
      /gives examples of shape \[3, 4, 4\], but the model input 'input' takes \[1, 28, 28\] per example/,
    ],
    [
      'an empty image folder',
      [tinyCnn, '--probe', `images:${emptyImages}`],
      /no PNG or JPEG images in .* \(1 other entries skipped\)$/,
    ],
    [
      'an unknown tensor name',
      [tinyCnn, '--probe', 'random:4', '--layers', 'stage1.reul'],
      /no layer or tensor named 'stage1\.reul'; close matches: stage1\.relu/,
    ],
    [
      'an initializer as a layer',
      [tinyCnn, '--probe', 'random:4', '--layers', 'head.weight'],
      /'head\.weight' is an initializer/,
    ],
    [
      'the graph input as a layer',
      [tinyCnn, '--probe', 'random:4', '--layers', 'input'],
      /'input' is a graph input, not a layer output$/,
    ],
    [
      'a model onnxruntime refuses',
      [refused, '--probe', 'random:4'],
      /refused\.onnx: onnxruntime cannot load the model: /,
    ],
    [
      'an external-data model without its data file',
      [externalAlone, '--probe', 'random:4'],
      /'tiny_cnn_external\.weights' next to it, and that file is missing$/,
    ],
    [
      'NaN activations',
      [join(fixturesDir, 'models', 'nan_sqrt.onnx'), '--probe', 'random:8', '--layers', 'all'],
      /layer 'sqrt' \(tensor root\) has non-finite activations/,
    ],
    ['a bad batch size', [tinyCnn, '--probe', 'random:4', '--batch', '0'], /--batch must be an integer ≥ 1, got '0'$/],
    ['a bad probe spec', [tinyCnn, '--probe', 'mnist:4'], /probe 'mnist:4': unknown kind 'mnist'/],
  ])('%s: one error line, exit code 1, no stack trace, no output files', async (_what, args, pattern) => {
    const { code, stdout, stderr } = await cli('extract', ...(args as string[]), '--out', out);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    const lines = stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^cka-workbench: error: /);
    expect(lines[0]).toMatch(pattern as RegExp);
    expect(stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(join(out, 'manifest.json'))).toBe(false);
  });
});
