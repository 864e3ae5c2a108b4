/**
 * Activations recorded in files, as one side of a comparison: a directory written by `extract`
 * (manifest.json + one [n, features] float32 .npy per layer; extract-dir.ts writes it), a folder of
 * .npy files (one layer each, in natural file-name order), or a single .npy file.
 */
import { promises as fs } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { z } from 'zod';
import type { OmittedLayer, Reduction } from '../../common/contract.js';
import { WorkbenchError } from '../../common/errors.js';
import type { LayerSource } from '../similarity/index.js';
import { FILE_SIZE_LIMITS, checkRegularFile, readRegularText } from '../io/regular-file.js';

const manifestSchema = z.object({
  model: z.object({ path: z.string(), sha256: z.string() }),
  probe: z.object({ spec: z.string(), hash: z.string(), n: z.number().int().nonnegative() }),
  layers: z
    .array(
      z.object({
        tensor: z.string().min(1),
        name: z.string(),
        op: z.string(),
        shape: z.array(z.union([z.number(), z.string(), z.null()])),
        features: z.number().int().positive(),
        file: z.string().min(1),
        reduction: z.enum(['flatten', 'mean', 'first', 'last', 'tokens']).optional(),
        key: z.string().optional(),
        rows: z.number().int().positive().optional(),
        tokenization: z.string().optional(),
      }),
    )
    .min(1),
  omitted: z.array(z.object({ tensor: z.string(), name: z.string(), reason: z.string() })).optional(),
});

export type ExtractManifest = z.infer<typeof manifestSchema>;

export interface LayerFileEntry {
  tensor: string;
  name: string;
  op?: string;
  path: string;
  reduction?: Reduction;
  /** Rows the file holds, when the manifest says (tokens: the valid tokens). */
  rows?: number;
  tokenization?: string;
}

export interface FileSide {
  /** What the side was given as (directory or file), for provenance. */
  path: string;
  kind: 'extract' | 'npy-folder' | 'npy-file';
  model?: { path: string; sha256: string };
  probe?: { spec: string; hash: string; n: number };
  layers: LayerFileEntry[];
  omitted?: OmittedLayer[];
}

async function readManifest(dir: string): Promise<ExtractManifest> {
  const path = join(dir, 'manifest.json');
  let json: unknown;
  try {
    json = JSON.parse(await readRegularText(path, { what: 'manifest', maxBytes: FILE_SIZE_LIMITS.json }));
  } catch (err) {
    throw new WorkbenchError(
      'BAD_INPUT',
      `${path}: not readable JSON (${err instanceof Error ? err.message : String(err)})`,
    );
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new WorkbenchError(
      'BAD_INPUT',
      `${path}: not an extract manifest (${issue.path.join('.') || 'top level'}: ${issue.message})`,
    );
  }
  return parsed.data;
}

const naturalOrder = new Intl.Collator('en', { numeric: true }).compare;

/** Reads a side: an extract directory, a folder of .npy files, or one .npy file. */
export async function readFileSide(path: string): Promise<FileSide> {
  const full = resolve(path);
  const stat = await fs.stat(full);
  if (!stat.isFile() && !stat.isDirectory()) {
    // A FIFO or a device is never opened: its .npy reads would block or never end.
    await checkRegularFile(full, { what: 'activations file', maxBytes: FILE_SIZE_LIMITS.array });
  }
  if (stat.isFile()) {
    if (!full.endsWith('.npy')) {
      throw new WorkbenchError(
        'BAD_INPUT',
        `${path}: expected a directory written by extract, a folder of .npy files or a .npy file`,
      );
    }
    const name = basename(full, '.npy');
    return { path: full, kind: 'npy-file', layers: [{ tensor: name, name, path: full }] };
  }
  const entries = await fs.readdir(full);
  if (entries.includes('manifest.json')) {
    const manifest = await readManifest(full);
    return {
      path: full,
      kind: 'extract',
      model: manifest.model,
      probe: manifest.probe,
      layers: manifest.layers.map((l) => ({
        tensor: l.tensor,
        name: l.name || l.tensor,
        op: l.op,
        path: resolve(full, l.file),
        ...(l.reduction ? { reduction: l.reduction } : {}),
        rows: l.rows ?? manifest.probe.n,
        ...(l.tokenization !== undefined ? { tokenization: l.tokenization } : {}),
      })),
      ...(manifest.omitted ? { omitted: manifest.omitted } : {}),
    };
  }
  const files = entries.filter((f) => f.endsWith('.npy')).sort(naturalOrder);
  if (files.length === 0)
    throw new WorkbenchError('BAD_INPUT', `${path}: no manifest.json and no .npy files in this directory`);
  return {
    path: full,
    kind: 'npy-folder',
    layers: files.map((f) => ({ tensor: basename(f, '.npy'), name: basename(f, '.npy'), path: join(full, f) })),
  };
}

/**
 * Filters a side's layers: `all`; `op:Relu,Conv` (extract directories record each layer's op);
 * or a comma-separated list of tensor names or display names, kept in the side's order.
 */
export function selectLayers(side: FileSide, selector: string | undefined): LayerFileEntry[] {
  const text = (selector ?? 'all').trim();
  if (text === '' || text === 'all') return side.layers;
  if (text.startsWith('preset:')) {
    throw new WorkbenchError(
      'BAD_INPUT',
      `${side.path}: '${text}' needs the model; a directory's layers were chosen when it was extracted (use all, op:… or names)`,
    );
  }
  if (text.startsWith('op:')) {
    const ops = new Set(
      text
        .slice(3)
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    );
    if (side.kind !== 'extract')
      throw new WorkbenchError(
        'BAD_INPUT',
        `${side.path}: 'op:' selections need a directory written by extract (it records each layer's op)`,
      );
    const chosen = side.layers.filter((l) => l.op !== undefined && ops.has(l.op));
    if (chosen.length === 0)
      throw new WorkbenchError('BAD_INPUT', `${side.path}: no layer has op ${[...ops].join(' or ')}`);
    return chosen;
  }
  const wanted = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const w of wanted) {
    if (!side.layers.some((l) => l.tensor === w || l.name === w)) {
      throw new WorkbenchError(
        'BAD_INPUT',
        `${side.path}: no layer named '${w}' (layers: ${side.layers.map((l) => l.name).join(', ')})`,
      );
    }
  }
  return side.layers.filter((l) => wanted.includes(l.tensor) || wanted.includes(l.name));
}

/** The layers as CKA sources read from their .npy files. */
export function fileSources(layers: readonly LayerFileEntry[]): LayerSource[] {
  return layers.map((l) => ({ kind: 'npy', layer: { tensor: l.tensor, name: l.name }, path: l.path }));
}
