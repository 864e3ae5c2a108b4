import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspectModelFile } from '../../app/engine/runner/inspect-model.js';
import { cliBin, tinyCnn } from '../helpers/paths.js';

const run = promisify(execFile);

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
});
