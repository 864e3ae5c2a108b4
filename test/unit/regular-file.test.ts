/**
 * Every path the engine opens goes through io/regular-file.ts: a FIFO, a link to /dev/zero, a
 * socket or a folder is BAD_INPUT naming the path, at once, through each engine entry point that
 * reads a file a person named — and FIFOs never take a thread of libuv's pool (four of them would
 * stop every other file operation of the process).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { promises as fs, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkbenchError } from '../../app/common/errors.js';
import { readFileSide } from '../../app/engine/activations/layer-files.js';
import { openProbeInfo } from '../../app/engine/experiments/probe-sets.js';
import { fileSha256 } from '../../app/engine/io/file-hash.js';
import { readNpyHeader } from '../../app/engine/io/npy.js';
import { checkRegularFile, openRegularFile, readRegularFile } from '../../app/engine/io/regular-file.js';
import { loadModel } from '../../app/engine/onnx/model-file.js';
import { openProbe } from '../../app/engine/probe/open-probe.js';
import { inspectModelFile } from '../../app/engine/runner/inspect-model.js';
import { makeSpecialFiles, within, type SpecialFiles } from '../helpers/special-files.js';
import { fixturesDir, tinyCnn } from '../helpers/paths.js';

let dir: string;
let special: SpecialFiles;
const input = { name: 'input', shape: [null, 1, 28, 28], dtype: 'float32' };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ckawb-special-'));
  special = await makeSpecialFiles(join(dir, 'special'));
});

afterAll(async () => {
  await special?.release();
});

/** The error `work` ends in, within `ms` (a hang fails the test instead of stalling it). */
async function failure(work: () => Promise<unknown>, ms = 5000): Promise<WorkbenchError> {
  try {
    await within(work(), ms, 'the call');
  } catch (err) {
    if (err instanceof WorkbenchError) return err;
    throw err;
  }
  throw new Error('expected the call to fail');
}

describe('regular files only', () => {
  it('refuses a FIFO, a link to /dev/zero, a socket and a folder at once, naming the path and what it is', async () => {
    const cases = [
      [special.fifo('refused.onnx'), /is a FIFO \(named pipe\), not a regular file/],
      [special.zeroLink('zero.onnx'), /is a character device \(a link to \/dev\/zero\), not a regular file/],
      [special.socket, /is a socket, not a regular file/],
      [special.directory, /is a directory, not a regular file/],
    ] as const;
    for (const [path, reason] of cases) {
      for (const open of [openRegularFile, readRegularFile, checkRegularFile]) {
        const started = performance.now();
        const err = await failure(() => open(path, { maxBytes: 2 ** 30 }));
        expect(performance.now() - started, path).toBeLessThan(1000);
        expect(err.code, path).toBe('BAD_INPUT');
        expect(err.message.startsWith(`${path}`), err.message).toBe(true);
        expect(err.message).toMatch(reason);
      }
    }
  });

  it('refuses a file over the limit before reading it, and reads regular files (also through links) as they are', async () => {
    const file = join(dir, 'data.bin');
    const bytes = Buffer.from(Array.from({ length: 3000 }, (_, i) => i % 251));
    writeFileSync(file, bytes);
    await fs.symlink(file, join(dir, 'link.bin'));
    const big = await failure(() => readRegularFile(file, { maxBytes: 2999, what: 'probe' }));
    expect([big.code, big.message]).toEqual([
      'BAD_INPUT',
      `${file}: 3,000 bytes is more than a probe may have (0 MiB)`,
    ]);
    const read = await readRegularFile(join(dir, 'link.bin'), { maxBytes: 3000 });
    expect(read.realPath).toBe(await fs.realpath(file));
    expect(Buffer.compare(read.bytes, bytes)).toBe(0);
    expect(await fileSha256(join(dir, 'link.bin'))).toBe(createHash('sha256').update(bytes).digest('hex'));
    const missing = await failure(() => checkRegularFile(join(dir, 'nope.onnx'), { maxBytes: 10 }));
    expect([missing.code, missing.message]).toEqual(['NOT_FOUND', `${join(dir, 'nope.onnx')}: no such file`]);
    await fs.symlink(join(dir, 'loop-b'), join(dir, 'loop-a'));
    await fs.symlink(join(dir, 'loop-a'), join(dir, 'loop-b'));
    const loop = await failure(() => readRegularFile(join(dir, 'loop-a'), { maxBytes: 10 }));
    expect([loop.code, loop.message]).toEqual([
      'BAD_INPUT',
      `${join(dir, 'loop-a')}: a link that leads to itself (a loop of links)`,
    ]);
  });

  it('every engine entry point that reads a named file refuses a FIFO and a link to /dev/zero', async () => {
    const entryPoints: [string, (path: string) => Promise<unknown>][] = [
      ['loadModel', (p) => loadModel(p)],
      ['inspectModelFile', (p) => inspectModelFile(p, { runner: null })],
      ['openProbe npy', (p) => openProbe(`npy:${p}`, input)],
      ['openProbe npz', (p) => openProbe(`npz:${p}`, input)],
      ['openProbeInfo npy without a model', (p) => openProbeInfo(`npy:${p}`, null, { modelsDir: fixturesDir })],
      ['openProbeInfo npz without a model', (p) => openProbeInfo(`npz:${p}`, null, { modelsDir: fixturesDir })],
      ['readNpyHeader', (p) => readNpyHeader(p)],
      ['readFileSide (compare)', (p) => readFileSide(p)],
      ['fileSha256', (p) => fileSha256(p)],
    ];
    let k = 0;
    for (const [name, call] of entryPoints) {
      for (const path of [special.fifo(`entry-${++k}.npy`), special.zeroLink(`entry-${++k}.npy`)]) {
        const err = await failure(() => call(path));
        expect(err.code, `${name} ${path}`).toBe('BAD_INPUT');
        expect(err.message, name).toContain(path);
      }
    }
  });

  it('eight FIFOs opened at once take no thread-pool thread: files and a good model still answer', async () => {
    const fifos = Array.from({ length: 8 }, (_, i) => special.fifo(`pool-${i}.onnx`));
    const refused = Promise.allSettled(
      fifos.flatMap((path) => [loadModel(path), openProbe(`npy:${path}`, input), readNpyHeader(path)]),
    );
    const [file, model] = await within(
      Promise.all([fs.readFile(join(fixturesDir, 'npy', 'f4_c.npy')), loadModel(tinyCnn)]),
      5000,
      'a file and a model read while the FIFOs are open',
    );
    expect(file.length).toBeGreaterThan(0);
    expect(model.model.graph!.node.length).toBeGreaterThan(0);
    const outcomes = await within(refused, 5000, 'the FIFO requests');
    for (const outcome of outcomes) {
      expect(outcome.status).toBe('rejected');
      if (outcome.status === 'rejected') expect((outcome.reason as WorkbenchError).code).toBe('BAD_INPUT');
    }
  });
});
