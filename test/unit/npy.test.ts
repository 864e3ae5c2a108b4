import { describe, expect, it } from 'vitest';
import { readFileSync, mkdtempSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeNpy, parseNpy, readNpy, readNpyHeader, toFloat64, writeNpy } from '../../app/engine/io/npy.js';

const dir = new URL('../fixtures/npy/', import.meta.url).pathname;
const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Record<
  string,
  { shape: number[]; values: number[] }
>;

describe('npy reader against numpy-written files', () => {
  for (const [name, want] of Object.entries(expected)) {
    it(`reads ${name}`, async () => {
      const array = await readNpy(join(dir, `${name}.npy`));
      expect(array.header.shape).toEqual(want.shape);
      const values = toFloat64(array);
      expect(values.length).toBe(want.values.length);
      // Exact: the expected values are numpy's own float64 view of the stored elements.
      expect(Array.from(values)).toEqual(want.values);
    });
  }

  it('reads only the header and checks the declared length', async () => {
    const header = await readNpyHeader(join(dir, 'f4_c.npy'));
    expect(header).toMatchObject({ dtype: 'float32', shape: [3, 4, 5], fortranOrder: false });
  });

  it('rejects truncated data and non-npy bytes with the file named', () => {
    const bytes = readFileSync(join(dir, 'f4_c.npy'));
    expect(() => parseNpy(bytes.subarray(0, bytes.length - 4), 'x.npy')).toThrow(/x\.npy: .*data truncated/);
    expect(() => parseNpy(new TextEncoder().encode('hello world'), 'y.npy')).toThrow(/y\.npy: .*magic/);
  });
});

describe('npy writer', () => {
  it('writes files numpy loads with the same values, atomically', async () => {
    const out = mkdtempSync(join(tmpdir(), 'npy-'));
    const data = Float32Array.from({ length: 12 }, (_, i) => i * 0.5 - 2);
    const path = join(out, 'a.npy');
    await writeNpy(path, data, [3, 4]);
    expect(readdirSync(out)).toEqual(['a.npy']);
    const script =
      'import numpy as np,sys,json; a=np.load(sys.argv[1]); print(json.dumps([str(a.dtype), list(a.shape), a.ravel().tolist()]))';
    const [dtype, shape, values] = JSON.parse(
      execFileSync('/usr/bin/python3', ['-c', script, path], { encoding: 'utf8' }),
    ) as [string, number[], number[]];
    expect(dtype).toBe('float32');
    expect(shape).toEqual([3, 4]);
    expect(values).toEqual(Array.from(data));
    // Data starts on a 64-byte boundary, as numpy itself writes.
    expect(parseNpy(encodeNpy(data, [3, 4])).header.dataOffset % 64).toBe(0);
  });
});
