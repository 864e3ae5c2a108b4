/**
 * The on-disk activation cache: one extract directory (./extract-dir.ts) per (model sha256, probe
 * hash) under `root`, one float32 `.npy` [rows, features] per layer key (the tensor, with its
 * reduction unless `flatten`: a layer's mean is another entry than its flattened values), grown
 * layer by layer. Keys are
 * content hashes, so a changed model file or probe file is a different entry, never a stale hit.
 * An entry counts only if the manifest lists it and its file's header says [rows, features] float32;
 * temp files of interrupted writes are never listed, hence never read.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { readNpyHeader } from '../io/npy.js';
import {
  ExtractDirSink,
  layerFileName,
  manifestKey,
  manifestRows,
  readExtractManifest,
  type ManifestLayer,
} from './extract-dir.js';

export interface CachedLayer extends ManifestLayer {
  /** Absolute path of the layer's .npy. */
  path: string;
}

export class ActivationCache {
  constructor(readonly root: string) {}

  dirFor(modelSha256: string, probeHash: string): string {
    return join(this.root, modelSha256, probeHash);
  }

  /** The cached layers among `wanted` (by key, with the rows they must have); the others must be extracted. */
  async lookup(
    modelSha256: string,
    probeHash: string,
    n: number,
    wanted: readonly { key: string; rows: number }[],
  ): Promise<Map<string, CachedLayer>> {
    const dir = this.dirFor(modelSha256, probeHash);
    const found = new Map<string, CachedLayer>();
    const manifest = await readExtractManifest(dir);
    if (
      !manifest ||
      manifest.model?.sha256 !== modelSha256 ||
      manifest.probe?.hash !== probeHash ||
      manifest.probe.n !== n
    ) {
      return found;
    }
    for (const layer of manifest.layers ?? []) {
      const key = manifestKey(layer);
      const want = wanted.find((w) => w.key === key);
      if (!want || manifestRows(layer, n) !== want.rows) continue;
      const path = join(dir, layer.file);
      try {
        const header = await readNpyHeader(path);
        const [rows, features] = header.shape;
        if (
          header.dtype === 'float32' &&
          header.shape.length === 2 &&
          rows === want.rows &&
          features === layer.features
        ) {
          found.set(key, { ...layer, path });
        }
      } catch {
        // Missing or unreadable: extract it again.
      }
    }
    return found;
  }

  /** A sink that adds the extracted layers to the entry of (model, probe). */
  sink(modelSha256: string, probeHash: string): ExtractDirSink {
    return new ExtractDirSink(this.dirFor(modelSha256, probeHash), {
      merge: true,
      // Stable per key (short names can change with the selection's neighbours; tensor names cannot).
      fileName: (layer, taken) =>
        layerFileName(`${layer.name}-${createHash('sha256').update(layer.key).digest('hex').slice(0, 10)}`, taken),
    });
  }
}
