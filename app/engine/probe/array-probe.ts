/**
 * `npy:PATH` and `npz:PATH[:KEY]` probes: an array whose first axis is the examples, in the exact
 * form the model takes (numpy interop: dump your preprocessed PyTorch inputs with np.save).
 * float32, float64, float16 and uint8 arrays are read; uint8 values are used as they are (no /255).
 * Rows are read on demand, so a probe file larger than memory is fine.
 */
import { promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { resolve } from 'node:path';
import { WorkbenchError } from '../../common/errors.js';
import { parseNpyHeader, type NpyHeader } from '../io/npy.js';
import { halfToFloat } from '../io/half-float.js';
import { hashFile } from '../io/file-hash.js';
import { fileByteSource, type ByteSource } from './byte-source.js';
import { checkExampleShape, type ModelInput } from './model-input.js';
import { listNpzMembers, memberBytes } from './npz-archive.js';
import { elementsPerExample, probeHash, type ProbeSource } from './source.js';

const READABLE_DTYPES = new Set(['float32', 'float64', 'float16', 'uint8']);
const MAX_NPY_HEADER = 65_535 + 12;

export async function openProbeFile(path: string, what: string): Promise<{ handle: FileHandle; size: number }> {
  let stat;
  try {
    stat = await fs.stat(path);
  } catch {
    throw new WorkbenchError('NOT_FOUND', `probe ${what}: ${path}: no such file`);
  }
  if (!stat.isFile()) throw new WorkbenchError('BAD_PROBE', `probe ${what}: ${path} is not a file`);
  return { handle: await fs.open(path, 'r'), size: stat.size };
}

export async function openNpyProbe(path: string, input: ModelInput): Promise<ProbeSource> {
  const absolute = resolve(path);
  const spec = `npy:${absolute}`;
  const { handle, size } = await openProbeFile(absolute, `npy:${path}`);
  try {
    const bytes = fileByteSource(handle, 0, size, absolute);
    return await arrayProbe(spec, absolute, bytes, handle, input, [absolute]);
  } catch (err) {
    await handle.close();
    throw err;
  }
}

export async function openNpzProbe(path: string, key: string | undefined, input: ModelInput): Promise<ProbeSource> {
  const absolute = resolve(path);
  const { handle, size } = await openProbeFile(absolute, `npz:${path}`);
  try {
    const members = await listNpzMembers(handle, size, absolute);
    if (members.length === 0) throw new WorkbenchError('BAD_PROBE', `${absolute}: the archive holds no arrays`);
    const keys = members.map((m) => m.key).join(', ');
    let member = members[0]!;
    if (key !== undefined) {
      const found = members.find((m) => m.key === key);
      if (!found)
        throw new WorkbenchError('BAD_PROBE', `${absolute}: no array '${key}' in the archive (it has: ${keys})`);
      member = found;
    } else if (members.length > 1) {
      throw new WorkbenchError(
        'BAD_PROBE',
        `${absolute}: the archive holds several arrays (${keys}); name one as npz:PATH:KEY`,
      );
    }
    const bytes = await memberBytes(handle, member, absolute);
    return await arrayProbe(`npz:${absolute}:${member.key}`, `${absolute}:${member.key}`, bytes, handle, input, [
      absolute,
    ]);
  } catch (err) {
    await handle.close();
    throw err;
  }
}

async function readHeader(bytes: ByteSource, source: string): Promise<NpyHeader> {
  const head = await bytes.read(0, Math.min(bytes.size, MAX_NPY_HEADER));
  try {
    return parseNpyHeader(head, source);
  } catch (err) {
    throw new WorkbenchError('BAD_PROBE', (err as Error).message);
  }
}

async function arrayProbe(
  spec: string,
  source: string,
  bytes: ByteSource,
  handle: FileHandle,
  input: ModelInput,
  hashedFiles: string[],
): Promise<ProbeSource> {
  const header = await readHeader(bytes, source);
  if (!READABLE_DTYPES.has(header.dtype)) {
    throw new WorkbenchError(
      'BAD_PROBE',
      `${source}: ${header.dtype} arrays cannot be a probe (use float32, float64 or uint8)`,
    );
  }
  if (header.fortranOrder && header.shape.length > 1) {
    throw new WorkbenchError(
      'BAD_PROBE',
      `${source}: the array is stored in Fortran order; save np.ascontiguousarray(x)`,
    );
  }
  if (header.shape.length === 0 || header.shape[0] === 0) {
    throw new WorkbenchError('BAD_PROBE', `${source}: the array has no examples (shape [${header.shape.join(', ')}])`);
  }
  const exampleShape = header.shape.slice(1);
  checkExampleShape(spec, exampleShape, input);
  const n = header.shape[0]!;
  const rowBytes = elementsPerExample(exampleShape) * header.itemSize;
  if (header.dataOffset + n * rowBytes > bytes.size) {
    throw new WorkbenchError('BAD_PROBE', `${source}: the array is truncated (${n} examples declared)`);
  }
  const hash = probeHash().update(`${spec}\n`);
  for (const file of hashedFiles) await hashFile(hash, file);
  return {
    spec,
    hash: hash.digest('hex'),
    n,
    exampleShape,
    notes: [],
    async read(start, count) {
      const raw = await bytes.read(header.dataOffset + start * rowBytes, count * rowBytes);
      return decodeToFloat32(raw, header);
    },
    close: () => handle.close(),
  };
}

/** Elements of `raw` (dtype and byte order of `header`) as float32. */
export function decodeToFloat32(
  raw: Uint8Array,
  header: Pick<NpyHeader, 'dtype' | 'itemSize' | 'littleEndian'>,
): Float32Array {
  const count = raw.length / header.itemSize;
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const le = header.littleEndian;
  if (header.dtype === 'float32' && le && raw.byteOffset % 4 === 0) {
    return new Float32Array(raw.buffer, raw.byteOffset, count);
  }
  const out = new Float32Array(count);
  switch (header.dtype) {
    case 'float32':
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, le);
      break;
    case 'float64':
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(i * 8, le);
      break;
    case 'float16':
      for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(i * 2, le));
      break;
    case 'uint8':
      out.set(raw);
      break;
    default:
      throw new WorkbenchError('INTERNAL', `cannot decode ${header.dtype}`);
  }
  return out;
}
