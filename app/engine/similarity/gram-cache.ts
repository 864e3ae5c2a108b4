/**
 * Spilling Grams to a cache directory and loading them back: `NAME.npy` holds the packed centred
 * Gram (shape [n(n+1)/2], the upper triangle row by row — see cka/packed.ts; half the bytes of the
 * full matrix; `numpy` users unpack it with `np.triu_indices(n)`), and `NAME.json` its metadata.
 * The values are float32 when every one of them is a float32 — always for a Gram computed in
 * float32 — which halves the file and loses nothing; else float64. A float32 file loads as a
 * float32 Gram.
 * Both files are written atomically; the .json is written last, so a Gram is only found once
 * complete.
 */
import { WorkbenchError } from '../../common/errors.js';
import { packedLength, type PackedArray } from '../cka/packed.js';
import { sharedArray } from '../compute/shared-memory.js';
import { writeFileAtomic } from '../io/atomic.js';
import { readNpyHeader, writeNpy } from '../io/npy.js';
import { FILE_SIZE_LIMITS, openRegularFile, readRegularText } from '../io/regular-file.js';
import type { LayerGram } from './grams.js';

const FORMAT = 'cka-workbench/packed-centred-gram@1';

interface GramMetadata {
  format: typeof FORMAT;
  layer: LayerGram['layer'];
  n: number;
  features: number;
  precision: LayerGram['precision'];
  constant: boolean;
  nonFinite: LayerGram['nonFinite'];
}

function metadataPath(npyPath: string): string {
  return npyPath.replace(/\.npy$/, '') + '.json';
}

/** The values to store: float32 when that holds them exactly (a copy of float64 ones), else the float64 values. */
function storedValues(values: PackedArray): PackedArray {
  if (values instanceof Float32Array) return values;
  const narrow = new Float32Array(values);
  for (let i = 0; i < values.length; i++) if (narrow[i] !== values[i]) return values;
  return narrow;
}

export async function saveGram(gram: LayerGram, npyPath: string): Promise<void> {
  if (!npyPath.endsWith('.npy')) throw new WorkbenchError('BAD_INPUT', `a Gram file must end in .npy: ${npyPath}`);
  // Copied (by storedValues or encodeNpy) before writeNpy's first await: later changes are not written.
  await writeNpy(npyPath, storedValues(gram.gram), [gram.gram.length]);
  const metadata: GramMetadata = {
    format: FORMAT,
    layer: gram.layer,
    n: gram.n,
    features: gram.features,
    precision: gram.precision,
    constant: gram.constant,
    nonFinite: gram.nonFinite,
  };
  await writeFileAtomic(metadataPath(npyPath), JSON.stringify(metadata, null, 1));
}

export async function loadGram(npyPath: string): Promise<LayerGram> {
  let metadata: GramMetadata;
  try {
    metadata = JSON.parse(
      await readRegularText(metadataPath(npyPath), { what: 'Gram description', maxBytes: FILE_SIZE_LIMITS.json }),
    ) as GramMetadata;
  } catch (err) {
    if ((err as { code?: string }).code === 'NOT_FOUND')
      throw new WorkbenchError('NOT_FOUND', `no cached Gram at ${npyPath} (its .json is missing)`);
    throw new WorkbenchError(
      'BAD_INPUT',
      `${metadataPath(npyPath)}: not a Gram description (${(err as Error).message})`,
    );
  }
  if (metadata.format !== FORMAT)
    throw new WorkbenchError('BAD_INPUT', `${metadataPath(npyPath)}: unknown format ${String(metadata.format)}`);
  const header = await readNpyHeader(npyPath);
  const length = packedLength(metadata.n);
  const narrow = header.dtype === 'float32';
  if (
    (!narrow && header.dtype !== 'float64') ||
    !header.littleEndian ||
    header.shape.length !== 1 ||
    header.shape[0] !== length
  ) {
    throw new WorkbenchError(
      'BAD_INPUT',
      `${npyPath}: expected a float32 or float64 array of ${length} values for n = ${metadata.n}`,
    );
  }
  const gram = sharedArray(narrow ? 'float32' : 'float64', length, `the Gram of layer '${metadata.layer.name}'`);
  const file = await openRegularFile(npyPath, { what: 'Gram', maxBytes: FILE_SIZE_LIMITS.array });
  const { handle } = file;
  try {
    const bytes = new Uint8Array(gram.buffer, gram.byteOffset, gram.byteLength);
    let done = 0;
    while (done < bytes.length) {
      const { bytesRead } = await handle.read(bytes, done, bytes.length - done, header.dataOffset + done);
      if (bytesRead === 0) throw new WorkbenchError('BAD_INPUT', `${npyPath}: file ended early`);
      done += bytesRead;
    }
  } finally {
    await file.close();
  }
  return {
    layer: metadata.layer,
    n: metadata.n,
    features: metadata.features,
    precision: metadata.precision,
    gram,
    constant: metadata.constant,
    nonFinite: metadata.nonFinite,
  };
}
