/**
 * API methods over the model and probe library: opening a file is what allows later requests to
 * use its path (file-access.ts); opened files are remembered in the database across sessions.
 */
import { promises as fs } from 'node:fs';
import { basename, resolve } from 'node:path';
import type { ModelEntry, ModelSummary, ProbeInfo, ProbeSetEntry, WorkbenchApi } from '../common/contract.js';
import { WorkbenchError } from '../common/errors.js';
import type { FileAccessPolicy } from './file-access.js';
import { realPathOf } from './file-access.js';
import { calibrateModelFile } from '../engine/activations/model-calibration.js';
import { inspectModelFile } from '../engine/runner/inspect-model.js';
import type { ModelRunner } from '../engine/runner/model-runner.js';
import type { ModelInput } from '../engine/probe/model-input.js';
import { parseProbeSpec } from '../engine/probe/spec.js';
import { tokenizerFile } from '../engine/probe/tokenizer.js';
import { listPresets, readZoo } from '../engine/experiments/presets.js';
import { builtInProbes, openProbeInfo, probeLabel } from '../engine/experiments/probe-sets.js';
import { probePath } from '../engine/experiments/spec.js';
import type { Store } from '../engine/store/store.js';

export interface LibraryDeps {
  policy: FileAccessPolicy;
  store: () => Promise<Store>;
  runner: () => ModelRunner;
  modelsDir: string;
  /** The most examples a probe may have. */
  maxProbeExamples?: number;
}

type LibraryMethods = Pick<
  WorkbenchApi,
  'inspectModel' | 'openModel' | 'listModels' | 'listProbes' | 'openProbe' | 'calibrateModel' | 'listPresets'
>;

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

  /** Reads the model (a file that is not a valid model is refused) and allows its path. */
  async function open(path: string): Promise<{ summary: ModelSummary; real: string }> {
    const summary = await inspectModelFile(resolve(path), { runner: deps.runner() });
    const real = await realPathOf(summary.path);
    policy.allow(real);
    return { summary, real };
  }

  return {
    // Opening without remembering: the CLI's `inspect` leaves no trace in the data directory.
    inspectModel: async ({ path }) => (await open(path)).summary,

    async openModel({ path }) {
      const { summary, real } = await open(path);
      (await deps.store()).library.remember({
        path: real,
        kind: 'model',
        sha256: summary.sha256,
        sizeBytes: summary.sizeBytes,
        detail: { fileName: summary.fileName },
      });
      return summary;
    },

    async listModels() {
      const store = await deps.store();
      const opened = store.library.list('model');
      const entries: ModelEntry[] = [];
      for (const item of opened) {
        const size = await sizeOf(item.path);
        entries.push({
          path: item.path,
          fileName: basename(item.path),
          sha256: item.sha256 ?? '',
          sizeBytes: item.sizeBytes ?? 0,
          origin: 'opened',
          openedAt: item.openedAt,
          available: size !== null && size === item.sizeBytes,
        });
      }
      const listed = new Set(entries.map((e) => e.path));
      for (const model of await readZoo(deps.modelsDir)) {
        const real = await realPathOf(model.path).catch(() => model.path);
        if (listed.has(real)) continue;
        const size = await sizeOf(model.path);
        entries.push({
          path: model.path,
          fileName: basename(model.path),
          sha256: model.sha256 ?? '',
          sizeBytes: size ?? 0,
          origin: 'zoo',
          openedAt: null,
          available: size !== null,
        });
      }
      return entries;
    },

    async listProbes() {
      const store = await deps.store();
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
      return calibrateModelFile(deps.runner(), real);
    },

    listPresets: async () => listPresets(deps.modelsDir),
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
