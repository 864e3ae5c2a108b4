/**
 * `npy:PATH` and `npz:PATH[:KEY]` probes: an array whose first axis is the examples, in the exact
 * form the model takes (numpy interop: dump your preprocessed PyTorch inputs with np.save).
 * float32, float64, float16 and uint8 arrays are read; uint8 values are used as they are (no /255).
 * Rows are read on demand, so a probe file larger than memory is fine.
 */
import { resolve } from 'node:path';
import { WorkbenchError } from '../../common/errors.js';
import { parseNpyHeader, type NpyHeader } from '../io/npy.js';
import { halfToFloat } from '../io/half-float.js';
import { prefixedFileDigest } from '../io/file-hash.js';
import { FILE_SIZE_LIMITS, openRegularFile, type OpenedRegularFile } from '../io/regular-file.js';
import { fileByteSource, type ByteSource } from './byte-source.js';
import { checkExampleShape, type ModelInput } from './model-input.js';
import { listNpzMembers, memberBytes } from './npz-archive.js';
import { checkExampleCount, elementsPerExample, type ProbeSource } from './source.js';

const READABLE_DTYPES = new Set(['float32', 'float64', 'float16', 'uint8']);
const MAX_NPY_HEADER = 65_535 + 12;

/** A probe file opened for reading: a regular file only (io/regular-file.ts), errors naming the probe. */
export async function openProbeFile(path: string, what: string): Promise<OpenedRegularFile> {
  try {
    return await openRegularFile(path, { what: `probe ${what}`, maxBytes: FILE_SIZE_LIMITS.array });
  } catch (err) {
    if (err instanceof WorkbenchError && err.code === 'NOT_FOUND') {
      throw new WorkbenchError('NOT_FOUND', `probe ${what}: ${path}: no such file`);
    }
    throw err;
  }
}

export async function openNpyProbe(path: string, input: ModelInput, maxExamples?: number): Promise<ProbeSource> {
  const absolute = resolve(path);
  const spec = `npy:${absolute}`;
  const file = await openProbeFile(absolute, `npy:${path}`);
  try {
    const bytes = fileByteSource(file.handle, 0, file.size, absolute);
    return await arrayProbe(spec, absolute, bytes, file, input, maxExamples);
  } catch (err) {
    await file.close();
    throw err;
  }
}

export async function openNpzProbe(
  path: string,
  key: string | undefined,
  input: ModelInput,
  maxExamples?: number,
): Promise<ProbeSource> {
  const absolute = resolve(path);
  const file = await openProbeFile(absolute, `npz:${path}`);
  const { handle } = file;
  try {
    const members = await listNpzMembers(handle, file.size, absolute);
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
    return await arrayProbe(
      `npz:${absolute}:${member.key}`,
      `${absolute}:${member.key}`,
      bytes,
      file,
      input,
      maxExamples,
    );
  } catch (err) {
    await file.close();
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
  file: OpenedRegularFile,
  input: ModelInput,
  maxExamples: number | undefined,
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
  // Before the data is hashed or trusted: a small compressed archive can declare millions of rows.
  checkExampleCount(spec, n, maxExamples);
  const rowBytes = elementsPerExample(exampleShape) * header.itemSize;
  if (header.dataOffset + n * rowBytes > bytes.size) {
    throw new WorkbenchError('BAD_PROBE', `${source}: the array is truncated (${n} examples declared)`);
  }
  // The bytes of the file that was opened (not of whatever the path names by now).
  const hash = await prefixedFileDigest(`${spec}\n`, file);
  return {
    spec,
    hash,
    n,
    exampleShape,
    notes: [],
    async read(start, count) {
      const raw = await bytes.read(header.dataOffset + start * rowBytes, count * rowBytes);
      return decodeToFloat32(raw, header);
    },
    close: () => file.close(),
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
