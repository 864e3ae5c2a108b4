/**
 * The activation directory format, written by `extract --out DIR` and used by the
 * activation cache; activations/layer-files.ts reads it:
 *
 *   DIR/manifest.json   { model: {path, sha256}, probe: {spec, hash, n},
 *                         layers: [{tensor, name, op, shape, features, file,
 *                                   reduction?, key?, rows?, tokenization?}], omitted? }
 *   DIR/<file>.npy      float32 [rows, features] per layer, `file` relative to DIR
 *
 * `shape` is one row's shape (one example's, without the batch axis, unless reduced); `features`
 * its product; `rows` the examples (n, the default), or the valid tokens for `tokens`. `reduction`
 * (default `flatten`) says how the activations became rows, `key` is the layer's id with it. The manifest is written
 * last and atomically, after every .npy is complete and renamed into place: a reader that finds
 * the manifest finds whole files. Replacing a directory's contents removes the old manifest first.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../io/atomic.js';
import { NpyRowWriter } from './npy-row-writer.js';
import type { ExtractedLayer, ExtractionInfo, LayerBatch, RowFileSink } from './types.js';
import type { OmittedLayer, Reduction } from '../../common/contract.js';
import { WorkbenchError } from '../../common/errors.js';
import { FILE_SIZE_LIMITS, readRegularText } from '../io/regular-file.js';

export interface ManifestLayer {
  tensor: string;
  name: string;
  op: string;
  shape: number[];
  features: number;
  file: string;
  /** Left out: `flatten`. */
  reduction?: Reduction;
  /** Left out: the tensor. */
  key?: string;
  /** Left out: the probe's n. */
  rows?: number;
  tokenization?: string;
}

export interface ExtractManifest {
  model: { path: string; sha256: string };
  probe: { spec: string; hash: string; n: number };
  layers: ManifestLayer[];
  /** Selected layers that were not extracted, and why. */
  omitted?: OmittedLayer[];
}

/** A manifest layer's id (its key, else its tensor) and rows (else the probe's n). */
export function manifestKey(layer: ManifestLayer): string {
  return layer.key ?? layer.tensor;
}

export function manifestRows(layer: ManifestLayer, n: number): number {
  return layer.rows ?? n;
}

function manifestLayer(l: ExtractedLayer, file: string): ManifestLayer {
  const layer: ManifestLayer = { tensor: l.tensor, name: l.name, op: l.op, shape: l.shape, features: l.features, file };
  if (l.reduction !== 'flatten') {
    layer.reduction = l.reduction;
    layer.key = l.key;
  }
  if (l.rowsPerExample !== 1) layer.rows = l.rows;
  if (l.tokenization !== undefined) layer.tokenization = l.tokenization;
  return layer;
}

export const MANIFEST_FILE = 'manifest.json';

/** A file name for a layer: its short name with unsafe characters replaced, unique in `taken`. */
export function layerFileName(name: string, taken: Set<string>): string {
  const base =
    name
      .replace(/[^A-Za-z0-9._-]/g, '_')
      .replace(/^\.+/, '_')
      .slice(0, 120) || 'layer';
  let file = `${base}.npy`;
  for (let k = 2; taken.has(file.toLowerCase()); k++) file = `${base}-${k}.npy`;
  taken.add(file.toLowerCase());
  return file;
}

export async function readExtractManifest(dir: string): Promise<ExtractManifest | null> {
  try {
    return JSON.parse(
      await readRegularText(join(dir, MANIFEST_FILE), { what: 'manifest', maxBytes: FILE_SIZE_LIMITS.json }),
    ) as ExtractManifest;
  } catch {
    return null;
  }
}

export interface ExtractDirOptions {
  /**
   * Keep the layers already listed in the directory's manifest (when it is for the same model and
   * probe) and add or replace the new ones: the cache grows layer by layer. Default: replace.
   */
  merge?: boolean;
  /** File name for a layer (default: from its short name). */
  fileName?: (layer: ExtractedLayer, taken: Set<string>) => string;
  /**
   * Let the model runner write the rows into the files itself (RowFileSink) when this is the only
   * sink: nothing crosses to this process. Default: the rows come here and are written here.
   */
  byRunner?: boolean;
}

export class ExtractDirSink implements RowFileSink {
  private info: ExtractionInfo | null = null;
  private writers: NpyRowWriter[] = [];
  private files: string[] = [];

  constructor(
    readonly dir: string,
    private readonly options: ExtractDirOptions = {},
  ) {}

  async begin(info: ExtractionInfo): Promise<void> {
    this.info = info;
    await fs.mkdir(this.dir, { recursive: true });
    const taken = new Set<string>([MANIFEST_FILE]);
    const previous = this.options.merge ? await this.previousLayers(info) : [];
    for (const l of previous) if (!info.layers.some((x) => x.key === manifestKey(l))) taken.add(l.file.toLowerCase());
    this.files = info.layers.map((layer) => {
      const kept = previous.find((l) => manifestKey(l) === layer.key)?.file;
      if (kept) return kept;
      return this.options.fileName ? this.options.fileName(layer, taken) : layerFileName(layer.name, taken);
    });
    this.writers = [];
    for (const [i, layer] of info.layers.entries()) {
      this.writers.push(await NpyRowWriter.create(join(this.dir, this.files[i]!), layer.rows, layer.features));
    }
  }

  async write(batch: LayerBatch): Promise<void> {
    const writer = this.writers[batch.layer];
    if (!writer) throw new WorkbenchError('INTERNAL', `extract-dir: write before begin (layer ${batch.layer})`);
    await writer.append(batch.data);
  }

  rowFile(layer: number): { file: string; target: string } | null {
    const writer = this.writers[layer];
    return this.options.byRunner && writer ? { file: writer.tempFile, target: writer.path } : null;
  }

  rowsWritten(layer: number, rows: number): void {
    const writer = this.writers[layer];
    if (!writer) throw new WorkbenchError('INTERNAL', `extract-dir: rows written before begin (layer ${layer})`);
    writer.writtenElsewhere(rows);
  }

  async finish(): Promise<void> {
    const info = this.info!;
    const layers: ManifestLayer[] = info.layers.map((l, i) => manifestLayer(l, this.files[i]!));
    const previous = this.options.merge ? await this.previousLayers(info) : [];
    const kept = previous.filter((p) => !layers.some((l) => manifestKey(l) === manifestKey(p)));
    if (!this.options.merge) await fs.rm(join(this.dir, MANIFEST_FILE), { force: true });
    // The files' fsyncs run side by side; the first failure is the error once all have ended.
    const commits = await Promise.allSettled(this.writers.map((writer) => writer.commit()));
    const failed = commits.find((c): c is PromiseRejectedResult => c.status === 'rejected');
    if (failed) throw failed.reason;
    const manifest: ExtractManifest = { model: info.model, probe: info.probe, layers: [...kept, ...layers] };
    // The cache's directories grow layer by layer: what one extraction left out says nothing there.
    if (!this.options.merge && info.omitted && info.omitted.length > 0) manifest.omitted = info.omitted;
    await writeFileAtomic(join(this.dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  }

  async abort(): Promise<void> {
    await Promise.all(this.writers.map((w) => w.discard()));
  }

  private async previousLayers(info: ExtractionInfo): Promise<ManifestLayer[]> {
    const old = await readExtractManifest(this.dir);
    const same = old && old.model?.sha256 === info.model.sha256 && old.probe?.hash === info.probe.hash;
    return same && Array.isArray(old.layers) ? old.layers : [];
  }
}
