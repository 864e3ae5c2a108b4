/**
 * API methods over the model and probe library: opening a file is what allows later requests to
 * use its path (file-access.ts); opened files are remembered in the database across sessions.
 * Models are listed once per content (sha256) whatever path or upload they came by, under the
 * user's file name; errors about an uploaded copy name the user's file (uploads.ts).
 */
import { promises as fs } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type { ModelEntry, ModelSummary, ProbeInfo, ProbeSetEntry, WorkbenchApi } from '../common/contract.js';
import { WorkbenchError, toWorkbenchError } from '../common/errors.js';
import type { FileAccessPolicy } from './file-access.js';
import type { LibraryMethodName } from './method-groups.js';
import { isInside, realPathOf } from './file-access.js';
import { modelGraph as graphOf } from '../engine/onnx/graph.js';
import { loadModel } from '../engine/onnx/model-file.js';
import { inspectModelFile } from '../engine/runner/inspect-model.js';
import type { ModelRunner } from '../engine/runner/model-runner.js';
import type { ModelInput } from '../engine/probe/model-input.js';
import type { LibraryItem } from '../engine/store/library.js';
import type { Store } from '../engine/store/store.js';
import { readUploadRecord, uploadedName } from './uploads.js';

// Imported by the methods that need them: inspecting or opening a model loads none of this.
const presets = () => import('../engine/experiments/presets.js');
const probeSets = () => import('../engine/experiments/probe-sets.js');
const probeSpecs = async () => ({
  ...(await import('../engine/probe/spec.js')),
  ...(await import('../engine/experiments/spec-paths.js')),
  ...(await import('../engine/probe/tokenizer-files.js')),
});

export interface LibraryDeps {
  policy: FileAccessPolicy;
  store: () => Promise<Store>;
  runner: () => ModelRunner;
  modelsDir: string;
  /** The most examples a probe may have. */
  maxProbeExamples?: number;
  /** Where the server stores uploads (the data directory's `uploads/`): only copies there are uploads. */
  uploadsDir: string;
}

type LibraryMethods = Pick<WorkbenchApi, LibraryMethodName>;

/** What the library remembers of how a model was opened (`detail` of its row). */
interface ModelDetail {
  fileName?: string;
  source?: 'path' | 'upload';
}

/** `error` with every mention of the copy's path replaced by the user's file name. */
function namingUserFile(error: unknown, paths: readonly string[], name: string): WorkbenchError {
  const e = toWorkbenchError(error);
  let message = e.message;
  for (const path of paths) message = message.split(path).join(name);
  return new WorkbenchError(e.code, message);
}

async function sizeOf(path: string): Promise<number | null> {
  try {
    const stat = await fs.stat(path);
    return stat.isFile() ? stat.size : null;
  } catch {
    return null;
  }
}

export function libraryMethods(deps: LibraryDeps): LibraryMethods {
  const { policy } = deps;

  /**
   * Reads the model (a file that is not a valid model is refused) and allows its path. An uploaded
   * copy is named by the user's file, in its summary and in errors.
   */
  /** The uploads folder as given and as its real path (a path may come in either form). */
  let realUploadsDir: string | null = null;
  /** The upload record of a copy in the uploads folder; null for every other file. */
  const uploadOf = async (path: string) => {
    realUploadsDir ??= await fs.realpath(deps.uploadsDir).catch(() => null);
    const dirs = [resolve(deps.uploadsDir), ...(realUploadsDir ? [realUploadsDir] : [])];
    return dirs.some((dir) => isInside(resolve(path), dir)) ? readUploadRecord(resolve(path)) : null;
  };

  async function open(path: string): Promise<{ summary: ModelSummary; real: string; detail: ModelDetail }> {
    const upload = await uploadOf(path);
    try {
      const summary = await inspectModelFile(resolve(path), { runner: deps.runner() });
      const real = await realPathOf(summary.path);
      policy.allow(real);
      if (!upload) return { summary, real, detail: { fileName: summary.fileName, source: 'path' } };
      return {
        summary: { ...summary, fileName: upload.name },
        real,
        detail: { fileName: upload.name, source: 'upload' },
      };
    } catch (err) {
      throw upload ? namingUserFile(err, [resolve(path), path], uploadedName(upload)) : err;
    }
  }

  /** One entry for the rows of one content: the latest path that still holds it, under the user's name. */
  async function entryOf(items: readonly LibraryItem[]): Promise<ModelEntry> {
    let chosen: { item: LibraryItem; available: boolean } | null = null;
    for (const item of items) {
      const size = await sizeOf(item.path);
      const available = size !== null && size === item.sizeBytes;
      if (available || chosen === null) chosen = { item, available };
      if (available) break;
    }
    const { item, available } = chosen!;
    const detail = item.detail as ModelDetail;
    const source = detail.source ?? 'path';
    return {
      path: item.path,
      fileName: detail.fileName ?? basename(item.path),
      sha256: item.sha256 ?? '',
      sizeBytes: item.sizeBytes ?? 0,
      origin: 'opened',
      source,
      from: source === 'upload' ? 'uploaded' : dirname(item.path),
      openedAt: items[0]!.openedAt,
      available,
    };
  }

  return {
    // Opening without remembering: the CLI's `inspect` leaves no trace in the data directory.
    inspectModel: async ({ path }) => (await open(path)).summary,

    async openModel({ path }) {
      const { summary, real, detail } = await open(path);
      (await deps.store()).library.remember({
        path: real,
        kind: 'model',
        sha256: summary.sha256,
        sizeBytes: summary.sizeBytes,
        detail: { ...detail },
      });
      return summary;
    },

    async listModels() {
      const store = await deps.store();
      // Rows newest first; the rows of one content (by sha256) make one entry, at the newest's place.
      const groups = new Map<string, LibraryItem[]>();
      for (const item of store.library.list('model')) {
        const key = item.sha256 ? `sha:${item.sha256}` : `path:${item.path}`;
        groups.set(key, [...(groups.get(key) ?? []), item]);
      }
      const entries: ModelEntry[] = [];
      for (const items of groups.values()) entries.push(await entryOf(items));
      const listedPaths = new Set([...groups.values()].flat().map((i) => i.path));
      const listedContent = new Set(entries.map((e) => e.sha256).filter(Boolean));
      for (const model of await (await presets()).readZoo(deps.modelsDir)) {
        const real = await realPathOf(model.path).catch(() => model.path);
        if (listedPaths.has(real) || (model.sha256 && listedContent.has(model.sha256))) continue;
        const size = await sizeOf(model.path);
        entries.push({
          path: model.path,
          fileName: basename(model.path),
          sha256: model.sha256 ?? '',
          sizeBytes: size ?? 0,
          origin: 'zoo',
          source: 'zoo',
          from: 'shipped with the app',
          openedAt: null,
          available: size !== null,
        });
      }
      return entries;
    },

    async forgetModel({ path }) {
      const store = await deps.store();
      const real = await realPathOf(path).catch(() => resolve(path));
      const row = store.library.list('model').find((item) => item.path === real || item.path === path);
      if (!row) throw new WorkbenchError('NOT_FOUND', `${path}: not in the recently opened models`);
      return { removed: store.library.forget('model', row.path, row.sha256) };
    },

    async modelGraph({ path }) {
      const real = await policy.check(path, 'model');
      const upload = await uploadOf(real);
      try {
        const { model, facts } = await loadModel(real);
        return graphOf(model, facts);
      } catch (err) {
        throw upload ? namingUserFile(err, [real, path], uploadedName(upload)) : err;
      }
    },

    async listProbes() {
      const store = await deps.store();
      const { probeLabel, builtInProbes } = await probeSets();
      const opened: ProbeSetEntry[] = store.library.list('probe').flatMap((item) => {
        const detail = item.detail as {
          spec?: string;
          kind?: ProbeSetEntry['kind'] | 'tokenizer';
          n?: number;
          hash?: string;
        };
        // Tokenizers are remembered beside the probes (so later sessions may use them), not listed.
        if (detail.kind === 'tokenizer') return [];
        const kind = detail.kind ?? 'npy';
        return {
          spec: detail.spec ?? `${kind}:${item.path}`,
          kind,
          label: probeLabel({ spec: detail.spec ?? '', kind }, item.path),
          description: `opened ${item.openedAt.slice(0, 10)}`,
          builtIn: false,
          ...(detail.n !== undefined ? { n: detail.n } : {}),
          ...(detail.hash !== undefined ? { hash: detail.hash } : {}),
          openedAt: item.openedAt,
        };
      });
      return [...(await builtInProbes(deps.modelsDir)), ...opened];
    },

    async openProbe({ spec, model, tokenizer, maskInput }) {
      const { parseProbeSpec, probePath, tokenizerFile } = await probeSpecs();
      const { openProbeInfo } = await probeSets();
      let inputs: ModelInput[] | null = null;
      let modelPath: string | undefined;
      if (model !== undefined) {
        modelPath = await policy.check(model, 'model');
        // Inputs are the file's; onnxruntime (a session exposing every tensor) is asked for them
        // only when the file leaves a type, or a shape beyond the batch axis, open.
        let declared = (await inspectModelFile(modelPath, { runner: null })).inputs;
        if (declared.length === 0 || !declared.every(declaresExampleShape)) {
          declared = (await inspectModelFile(modelPath, { runner: deps.runner() })).inputs;
        }
        if (declared.length === 0) throw new WorkbenchError('BAD_MODEL', `${model}: the model has no inputs`);
        inputs = declared.map((i) => ({ name: i.name, shape: i.shape ?? [null], dtype: i.dtype }));
      }
      // Naming a tokenizer here is opening it: later requests may name it too.
      if (tokenizer !== undefined) policy.allow(await realPathOf(tokenizerFile(tokenizer)));
      const info: ProbeInfo = await openProbeInfo(spec, inputs, {
        modelsDir: deps.modelsDir,
        ...(deps.maxProbeExamples !== undefined ? { maxExamples: deps.maxProbeExamples } : {}),
        ...(modelPath !== undefined ? { modelPath } : {}),
        ...(tokenizer !== undefined ? { tokenizer } : {}),
        ...(maskInput !== undefined ? { maskInput } : {}),
      });
      if (info.tokenizer) {
        const real = await realPathOf(info.tokenizer.path);
        policy.allow(real);
        (await deps.store()).library.remember({
          path: real,
          kind: 'probe',
          sha256: null,
          sizeBytes: await sizeOf(real),
          detail: { kind: 'tokenizer' },
        });
      }
      const path = probePath(parseProbeSpec(spec));
      if (path) {
        const real = await realPathOf(path.path);
        policy.allow(real);
        (await deps.store()).library.remember({
          path: real,
          kind: 'probe',
          sha256: null,
          sizeBytes: path.kind === 'file' ? await sizeOf(real) : null,
          detail: { spec: info.spec, kind: info.kind, n: info.n, hash: info.hash },
        });
      }
      return info;
    },

    async calibrateModel({ path }) {
      const real = await policy.check(path, 'model');
      const { calibrateModelFile } = await import('../engine/activations/model-calibration.js');
      return calibrateModelFile(deps.runner(), real);
    },

    listPresets: async () => (await presets()).listPresets(deps.modelsDir),
  };
}

/**
 * The file gives the input's element type and its shape, every axis after the batch a fixed size
 * (or, for a token input [batch, seq], a named one), written as onnxruntime would report it (it
 * reports a negative size or an empty name as unknown).
 */
function declaresExampleShape(input: ModelSummary['inputs'][number]): boolean {
  const { dtype, shape } = input;
  if (dtype === 'unknown' || shape === null || shape.length === 0) return false;
  const [batch, ...example] = shape;
  const named = (d: unknown) => (typeof d === 'number' ? d >= 0 : typeof d === 'string' && d !== '');
  const batchAsOrt = batch === null || named(batch);
  const tokens = example.length === 1 && !dtype.startsWith('float') && named(example[0]);
  return batchAsOrt && (tokens || example.every((d) => typeof d === 'number' && d >= 0));
}
