/**
 * Spilling a layer's CCA-family factors to a cache directory and loading them back: `NAME.npy`
 * holds U (n×r), then Xcᵀ U (p×r) and R (r×r) when present, and σ, as one float64 vector; `NAME.json`
 * the metadata (written last, atomically, so factors are only found once complete) — the same
 * pair of files as a cached Gram (gram-cache.ts).
 */
import { promises as fs } from 'node:fs';
import { WorkbenchError } from '../../common/errors.js';
import type { LayerFactors } from '../cka/layer-factors.js';
import { sharedFloat64 } from '../compute/shared-memory.js';
import { writeFileAtomic } from '../io/atomic.js';
import { readNpyHeader, writeNpy } from '../io/npy.js';

const FORMAT = 'cka-workbench/cca-factors@1';

type Metadata = Omit<LayerFactors, 'u' | 'projection' | 'rFactor' | 'sigma'> & {
  format: typeof FORMAT;
  sigmaLength: number;
  hasProjection: boolean;
  hasR: boolean;
};

function metadataPath(npyPath: string): string {
  return npyPath.replace(/\.npy$/, '') + '.json';
}

export async function saveFactors(factors: LayerFactors, npyPath: string): Promise<void> {
  const { u, projection, rFactor, sigma, ...rest } = factors;
  const parts = [u, projection ?? new Float64Array(0), rFactor ?? new Float64Array(0), sigma];
  const all = new Float64Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const part of parts) {
    all.set(part, at);
    at += part.length;
  }
  await writeNpy(npyPath, all, [all.length]);
  const metadata: Metadata = {
    ...rest,
    format: FORMAT,
    sigmaLength: sigma.length,
    hasProjection: projection !== null,
    hasR: rFactor !== null,
  };
  await writeFileAtomic(metadataPath(npyPath), JSON.stringify(metadata));
}

export async function loadFactors(npyPath: string): Promise<LayerFactors> {
  let metadata: Metadata;
  try {
    metadata = JSON.parse(await fs.readFile(metadataPath(npyPath), 'utf8')) as Metadata;
  } catch (err) {
    throw new WorkbenchError('NOT_FOUND', `no cached factors at ${npyPath} (${(err as Error).message})`);
  }
  if (metadata.format !== FORMAT)
    throw new WorkbenchError('BAD_INPUT', `${metadataPath(npyPath)}: unknown format ${String(metadata.format)}`);
  const { n, r, live, sigmaLength, hasProjection, hasR } = metadata;
  const sizes = [n * r, hasProjection ? live * r : 0, hasR ? r * r : 0, sigmaLength];
  const total = sizes.reduce((a, b) => a + b, 0);
  const header = await readNpyHeader(npyPath);
  if (header.dtype !== 'float64' || !header.littleEndian || header.shape.length !== 1 || header.shape[0] !== total) {
    throw new WorkbenchError('BAD_INPUT', `${npyPath}: expected a float64 array of ${total} values`);
  }
  const all = new Float64Array(total);
  const handle = await fs.open(npyPath, 'r');
  try {
    const bytes = new Uint8Array(all.buffer);
    let done = 0;
    while (done < bytes.length) {
      const { bytesRead } = await handle.read(bytes, done, bytes.length - done, header.dataOffset + done);
      if (bytesRead === 0) throw new WorkbenchError('BAD_INPUT', `${npyPath}: file ended early`);
      done += bytesRead;
    }
  } finally {
    await handle.close();
  }
  const shared = (from: number, length: number) => {
    const out = sharedFloat64(length, `the CCA factors of layer '${metadata.layer.name}'`);
    out.set(all.subarray(from, from + length));
    return out;
  };
  const { format: _format, sigmaLength: _s, hasProjection: _p, hasR: _r, ...rest } = metadata;
  return {
    ...rest,
    u: shared(0, sizes[0]!),
    projection: hasProjection ? shared(sizes[0]!, sizes[1]!) : null,
    rFactor: hasR ? shared(sizes[0]! + sizes[1]!, sizes[2]!) : null,
    sigma: all.slice(total - sizes[3]!),
  };
}
