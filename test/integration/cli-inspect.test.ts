import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspectModelFile } from '../../app/engine/runner/inspect-model.js';
import { cliBin, repoRoot, tinyCnn } from '../helpers/paths.js';

const run = promisify(execFile);
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

async function cli(...args: string[]) {
  try {
    const { stdout, stderr } = await run(process.execPath, [cliBin, ...args]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('cka-workbench inspect', () => {
  it('prints the same JSON the engine returns', async () => {
    const { code, stdout } = await cli('inspect', tinyCnn, '--json');
    expect(code).toBe(0);
    const printed = JSON.parse(stdout) as Record<string, unknown>;
    expect(printed).toEqual(JSON.parse(JSON.stringify(await inspectModelFile(tinyCnn))));
    expect(Object.keys(printed)).toEqual(
      expect.arrayContaining(['inputs', 'outputs', 'opset', 'producer', 'parameters', 'layers']),
    );
  });

  it('prints a table with every layer', async () => {
    const { code, stdout } = await cli('inspect', tinyCnn);
    expect(code).toBe(0);
    const summary = await inspectModelFile(tinyCnn);
    for (const layer of summary.layers) expect(stdout).toContain(layer.tensor);
    expect(stdout).toMatch(/params\s+426/);
    expect(stdout).toContain(`sha256 ${sha256(readFileSync(tinyCnn)).slice(0, 12)}…)`);
    // Weights in a side file: the model's sha256 covers them, and the file's own is shown too.
    const external = join(repoRoot, 'test', 'fixtures', 'models', 'tiny_cnn_external.onnx');
    const withSides = await cli('inspect', external);
    expect(withSides.code).toBe(0);
    const file = sha256(readFileSync(external)).slice(0, 12);
    expect(withSides.stdout).toMatch(new RegExp(`sha256 [0-9a-f]{12}… with its weights files, the file's ${file}…\\)`));
    expect(withSides.stdout).not.toMatch(new RegExp(`sha256 ${file}… with`));
  });

  it('fails with one line naming the file, exit code 1 and no stack trace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cli-'));
    const corrupt = join(dir, 'corrupt.onnx');
    writeFileSync(corrupt, Buffer.from('this is not a protobuf message, just text\n'));
    for (const [file, pattern] of [
      [corrupt, /corrupt\.onnx: not a valid ONNX model/],
      [join(dir, 'missing.onnx'), /missing\.onnx: no such file/],
    ] as const) {
      const { code, stdout, stderr } = await cli('inspect', file);
      expect(code).toBe(1);
      expect(stdout).toBe('');
      expect(stderr).toMatch(pattern);
      expect(stderr.trim().split('\n')).toHaveLength(1);
      expect(stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('loads only what the command needs: --version nothing of the engine, inspect no CKA, database or runner process (its children inherit the hook), a compare of arrays nothing of the models', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cli-imports-'));
    let calls = 0;
    const imports = async (entry: string, ...args: string[]) => {
      const file = join(dir, `imports-${++calls}.txt`);
      const hook = join(repoRoot, 'test', 'helpers', 'trace-imports.mjs');
      // Through NODE_OPTIONS, so that a runner process the command starts is traced too.
      await run(process.execPath, [entry, ...args], {
        env: {
          ...process.env,
          NODE_OPTIONS: `--import ${hook}`,
          CKAWB_IMPORTS_FILE: file,
          CKA_WORKBENCH_DATA_DIR: dir,
        },
      });
      return readFileSync(file, 'utf8').trim().split('\n');
    };
    // The lazy boundaries, module by module, in the one-file-per-module build (dist/app)...
    const perModule = join(repoRoot, 'dist', 'app', 'cli', 'main.js');
    const version = await imports(perModule, '--version');
    expect(version.filter((url) => /\/app\/(engine|api\/workbench)|node_modules\/(?!commander)/.test(url))).toEqual([]);
    const inspect = await imports(perModule, 'inspect', tinyCnn);
    expect(inspect.some((url) => url.includes('/engine/onnx/shape-inference.js'))).toBe(true);
    const heavy =
      /\/engine\/(cka|compute|similarity|experiments|activations|store)\/|\/runner\/child|onnxruntime|better-sqlite3|zod/;
    expect(inspect.filter((url) => heavy.test(url))).toEqual([]);
    // A compare of activations already on disk computes CKA, and loads no ONNX, probe or runner code.
    const fixtures = join(repoRoot, 'test', 'fixtures', 'cka');
    const arrays = await imports(perModule, 'compare', join(fixtures, 'wide_a0.npy'), join(fixtures, 'wide_b0.npy'));
    expect(arrays.some((url) => url.includes('/engine/similarity/engine.js'))).toBe(true);
    const models = /\/engine\/(onnx|runner)\/|\/activations\/engine\.js|\/probe\/open-feeds|@bufbuild|fflate/;
    expect(arrays.filter((url) => models.test(url))).toEqual([]);
    // ...and the bundle the command runs (dist/cli) keeps them: its chunks load lazily, and no
    // native library or runner process starts for --version or inspect.
    const bundled = await imports(cliBin, '--version');
    expect(bundled.some((url) => url.endsWith('/dist/cli/main.js'))).toBe(true); // the bundle, not tsx
    expect(bundled.filter((url) => /node_modules|\/dist\/app\//.test(url))).toEqual([]);
    const bundledInspect = await imports(cliBin, 'inspect', tinyCnn);
    expect(bundledInspect.filter((url) => /\/child\.js|onnxruntime|better-sqlite3|piscina/.test(url))).toEqual([]);
    expect(bundledInspect.length).toBeLessThan(60);
  });
});
