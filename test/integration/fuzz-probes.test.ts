/**
 * Fuzzing the probe files (issue 8 §2, the other untrusted input a run reads): real .npy and .npz
 * probes (stored and deflated) truncated, with random bytes changed, with headers that declare
 * enormous shapes or other dtypes, zip directories whose sizes and offsets lie (a "zip bomb" that
 * declares terabytes), and broken images — each opened through the API against a model and a
 * sample run through an experiment. Every case ends in time with a probe or a typed error naming
 * the file (never INTERNAL), and the host survives. The counts are printed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { create } from '@bufbuild/protobuf';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { ErrorCode } from '../../app/common/contract.js';
import { isWorkbenchError } from '../../app/common/errors.js';
import { createWorkbench, type Workbench } from '../../app/api/workbench.js';
import { encodeModel } from '../../app/engine/onnx/codec.js';
import { ModelProtoDesc } from '../../app/engine/onnx/schema.js';
import { byteFlips, seededRandom, type Mutation } from '../helpers/fuzz.js';
import { removeTempDataDirs, runExperimentToEnd, tempDataDir } from '../helpers/experiments.js';
import { fixturesDir } from '../helpers/paths.js';

/**
 * Per-case bound ("ends in bounded time") for opening a probe and for running it. Cases here end
 * in well under a second; a run that hit the runner's 8 s limit once would take ~8–10 s. 30 s is
 * three times that, so only a case that really hangs misses it on a loaded 2-core machine.
 */
const BOUND_MS = 30_000;
const KNOWN = new Set<ErrorCode>(['BAD_PROBE', 'BAD_INPUT', 'NOT_FOUND', 'UNSUPPORTED', 'OUT_OF_MEMORY', 'RUNTIME']);

let api: Workbench;
let dir: string;
let model: string;
const cases: { name: string; spec: string; file: string; run: boolean }[] = [];
const outcomes: { name: string; level: string; result: string; message: string; ms: number }[] = [];

/** x [batch, 3, 4, 4] → relu → 2·relu: the shape of the probe fixtures. */
function probeModel(): Uint8Array {
  const dims = (d: (string | number)[]) => ({
    value: {
      case: 'tensorType',
      value: {
        elemType: 1,
        shape: {
          dim: d.map((v) =>
            typeof v === 'string'
              ? { value: { case: 'dimParam', value: v } }
              : { value: { case: 'dimValue', value: BigInt(v) } },
          ),
        },
      },
    },
  });
  return encodeModel(
    create(ModelProtoDesc, {
      irVersion: 8n,
      opsetImport: [{ domain: '', version: 13n }],
      graph: {
        name: 'probe model',
        node: [
          { opType: 'Relu', input: ['x'], output: ['r'], name: '/relu/Relu' },
          { opType: 'Mul', input: ['r', 'two'], output: ['y'], name: '/double/Mul' },
        ],
        initializer: [{ name: 'two', dims: [], dataType: 1, floatData: [2] }],
        input: [{ name: 'x', type: dims(['batch', 3, 4, 4]) }],
        output: [{ name: 'y', type: dims(['batch', 3, 4, 4]) }],
      },
    } as never) as never,
  );
}

/** The .npy header with its text replaced (padding kept so the data offset stays a multiple of 16). */
function withHeader(npy: Uint8Array, header: string): Uint8Array {
  const length = new DataView(npy.buffer, npy.byteOffset).getUint16(8, true);
  const padded = header.padEnd(length - 1, ' ').slice(0, length - 1) + '\n';
  const out = npy.slice();
  out.set(new TextEncoder().encode(padded), 10);
  return out;
}

/** Offsets of zip records (local headers, central directory entries, end of directory) in a file. */
function zipRecords(bytes: Uint8Array): { local: number[]; central: number[]; end: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const local: number[] = [];
  const central: number[] = [];
  let end = -1;
  for (let i = 0; i + 4 <= bytes.length; i++) {
    const sig = view.getUint32(i, true);
    if (sig === 0x04034b50) local.push(i);
    else if (sig === 0x02014b50) central.push(i);
    else if (sig === 0x06054b50) end = i;
  }
  return { local, central, end };
}

function patched(bytes: Uint8Array, at: number, value: number, size: 2 | 4): Uint8Array {
  const out = bytes.slice();
  const view = new DataView(out.buffer);
  if (size === 2) view.setUint16(at, value, true);
  else view.setUint32(at, value >>> 0, true);
  return out;
}

beforeAll(() => {
  const dataDir = tempDataDir('ckawb-fuzz-probes-');
  dir = join(dataDir, 'uploads', 'probes');
  mkdirSync(dir, { recursive: true });
  model = join(dir, 'model.onnx');
  writeFileSync(model, probeModel());
  api = createWorkbench({ dataDir, threads: 1, runnerTimeouts: { openMs: 8000, runMs: 8000 } });
  const random = seededRandom(2024);
  let k = 0;
  const add = (kind: 'npy' | 'npz' | 'images', m: Mutation, run = false) => {
    const name = `${kind}: ${m.name}`;
    if (kind === 'images') {
      const folder = join(dir, `images-${++k}`);
      mkdirSync(folder);
      writeFileSync(join(folder, 'a.png'), m.bytes);
      writeFileSync(join(folder, 'b.png'), m.bytes);
      cases.push({ name, spec: `images:${folder}`, file: join(folder, 'a.png'), run });
      return;
    }
    const file = join(dir, `case-${++k}.${kind}`);
    writeFileSync(file, m.bytes);
    // npz fixtures hold `x` (and `labels`): name the array, so that the mutations reach it.
    cases.push({ name: `${name} (#${k})`, spec: kind === 'npz' ? `npz:${file}:x` : `${kind}:${file}`, file, run });
  };
  const probes = join(fixturesDir, 'activations', 'probe');
  const npy = new Uint8Array(readFileSync(join(probes, 'x_f4.npy')));
  for (let cut = 1; cut < npy.length; cut += 97)
    add('npy', { name: `truncated at ${cut}`, bytes: npy.slice(0, cut) }, cut === 1);
  byteFlips(npy.subarray(0, 128), [], random, 16).forEach((m, i) => {
    const bytes = npy.slice();
    bytes.set(m.bytes, 0);
    add('npy', { name: `header ${m.name}`, bytes }, i % 4 === 0);
  });
  const headers: [string, string][] = [
    ['a shape of 2^40 examples', "{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776, 3, 4, 4), }"],
    [
      'a shape of 2^62 × 2^62',
      "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4611686018427387904), }",
    ],
    ['a negative dimension', "{'descr': '<f4', 'fortran_order': False, 'shape': (-5, 3, 4, 4), }"],
    ['no examples', "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3, 4, 4), }"],
    ['a scalar', "{'descr': '<f4', 'fortran_order': False, 'shape': (), }"],
    ['object dtype', "{'descr': '|O', 'fortran_order': False, 'shape': (5, 3, 4, 4), }"],
    ['complex dtype', "{'descr': '<c8', 'fortran_order': False, 'shape': (5, 3, 4, 4), }"],
    ['a Python expression', "__import__('os').system('touch /tmp/ckawb-pwned')"],
    ['unbalanced braces', "{'descr': '<f4', 'shape': (5, 3, 4, 4)"],
    ['fewer examples than declared bytes', "{'descr': '<f4', 'fortran_order': False, 'shape': (6, 3, 4, 4), }"],
  ];
  headers.forEach(([name, header], i) =>
    add('npy', { name: `header with ${name}`, bytes: withHeader(npy, header) }, i < 3),
  );
  add('npy', { name: 'header length past the file', bytes: patched(npy, 8, 0xffff, 2) }, true);
  add('npy', { name: 'wrong magic', bytes: Uint8Array.from([0x93, 0x4e, 0x55, ...npy.subarray(3)]) });
  for (const file of ['stored.npz', 'deflated.npz']) {
    const zip = new Uint8Array(readFileSync(join(probes, file)));
    const { local, central, end } = zipRecords(zip);
    for (let cut = 7; cut < zip.length; cut += 131)
      add('npz', { name: `${file} truncated at ${cut}`, bytes: zip.slice(0, cut) });
    byteFlips(zip, [], random, 12).forEach((m, i) =>
      add('npz', { name: `${file} ${m.name}`, bytes: m.bytes }, i === 0),
    );
    const lies: [string, number, number, 2 | 4][] = [
      ...central.flatMap((c, e): [string, number, number, 2 | 4][] => [
        [`entry ${e} declares 4 GB uncompressed`, c + 24, 0xfffffff0, 4],
        [`entry ${e} declares 4 GB compressed`, c + 20, 0xfffffff0, 4],
        [`entry ${e} has its local header past the end`, c + 42, 0x7ffffff0, 4],
        [`entry ${e} uses compression method 99`, c + 10, 99, 2],
        [`entry ${e} has a 65535-byte name`, c + 28, 0xffff, 2],
      ]),
      ...local.map((l, e): [string, number, number, 2 | 4] => [
        `entry ${e} has a local extra field of 65535 bytes`,
        l + 28,
        0xffff,
        2,
      ]),
      ['65535 entries', end + 10, 0xffff, 2],
      ['a directory past the end', end + 16, 0x7ffffff0, 4],
      ['a directory of 4 GB', end + 12, 0xfffffff0, 4],
    ];
    lies.forEach(([name, at, value, size], i) =>
      add('npz', { name: `${file} ${name}`, bytes: patched(zip, at, value, size) }, i % 5 === 0),
    );
  }
  const fakePng = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  add('images', { name: 'a PNG signature only', bytes: fakePng }, true);
  add('images', { name: 'a zero-byte image', bytes: new Uint8Array(0) }, true);
  add(
    'images',
    { name: 'random bytes named .png', bytes: Uint8Array.from({ length: 3000 }, () => Math.floor(random() * 256)) },
    true,
  );
  copyFileSync(join(probes, 'x_f4.npy'), join(dir, 'intact.npy'));
  cases.push({
    name: 'npy: the intact file',
    spec: `npy:${join(dir, 'intact.npy')}`,
    file: join(dir, 'intact.npy'),
    run: true,
  });
});

afterAll(async () => {
  await api?.close();
  removeTempDataDirs();
});

function deadline<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer`)), BOUND_MS))),
  ]).finally(() => clearTimeout(timer));
}

describe('fuzzing probe files through the API', () => {
  it('open and run: every case ends in time with a probe or a typed error naming the file', async () => {
    await api.openModel({ path: model });
    const started = performance.now();
    for (const c of cases) {
      const t0 = performance.now();
      try {
        const info = await deadline(api.openProbe({ spec: c.spec, model }), c.name);
        expect(info.n).toBeGreaterThan(0);
        outcomes.push({ name: c.name, level: 'open', result: 'ok', message: '', ms: performance.now() - t0 });
      } catch (err) {
        const [result, message] = isWorkbenchError(err) ? [err.code, err.message] : ['UNTYPED', String(err)];
        outcomes.push({ name: c.name, level: 'open', result, message, ms: performance.now() - t0 });
      }
      if (!c.run) continue;
      const t1 = performance.now();
      const experiment = await api.createExperiment({
        spec: {
          name: c.name.slice(0, 200),
          kind: 'self',
          models: [{ path: model }],
          probe: c.spec,
          layers: 'all',
          measures: ['linear'],
        },
      });
      const details = await deadline(runExperimentToEnd(api, experiment.id), `run of ${c.name}`);
      const error = details.run.error;
      expect(['done', 'failed'], c.name).toContain(details.run.status);
      outcomes.push({
        name: c.name,
        level: 'run',
        result: details.run.status === 'done' ? 'ok' : error!.code,
        message: error?.message ?? '',
        ms: performance.now() - t1,
      });
    }
    const summary = (level: string) => {
      const counts = new Map<string, number>();
      for (const o of outcomes.filter((x) => x.level === level)) counts.set(o.result, (counts.get(o.result) ?? 0) + 1);
      return [...counts].map(([k, v]) => `${k} ${v}`).join(', ');
    };
    console.log(
      `fuzz probes: ${cases.length} cases opened (${summary('open')}), ` +
        `${outcomes.filter((o) => o.level === 'run').length} run (${summary('run')}) in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
    const bad = outcomes.filter((o) => o.result !== 'ok' && !KNOWN.has(o.result as ErrorCode));
    expect(bad.map((o) => `${o.level} ${o.name}: ${o.result} ${o.message}`)).toEqual([]);
    for (const o of outcomes.filter((x) => x.result === 'BAD_PROBE')) {
      const c = cases.find((x) => x.name === o.name)!;
      expect(o.message, o.name).toContain(basename(c.file));
    }
    // The intact probe worked all along, and nothing a header said was executed.
    expect(outcomes.filter((o) => o.name === 'npy: the intact file').map((o) => o.result)).toEqual(['ok', 'ok']);
    expect(outcomes.filter((o) => o.name.includes('stored.npz') && o.result === 'ok').length).toBeGreaterThan(0);
    expect(() => readFileSync('/tmp/ckawb-pwned')).toThrow();
  }, 600_000);
});
