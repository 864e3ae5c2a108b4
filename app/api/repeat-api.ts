/**
 * `repeatRun`: a run whose inputs a finished run already had takes that run's result. The models
 * are hashed and the spec's other files too (engine/experiments/run-inputs.ts); when the key
 * matches a run that finished whole, a new experiment and a done run are written with its
 * result, in one transaction, and nothing is computed. The CLI asks this before it loads the
 * engine, so a repeated command costs a process start, the hashing and one database write.
 *
 * Callers in this process (the CLI) pass the spec unparsed: only a spec equal to one that was
 * parsed, but for its name, can match, and the name is checked here as the schema would. Over
 * IPC and HTTP the request is parsed like any other (schemas.ts).
 */
import type { ExperimentSpec, RunDetails, WorkbenchApi } from '../common/contract.js';
import { realPathOf, type FileAccessPolicy } from './file-access.js';
import { checkSpecPaths } from './spec-access.js';
import { joinResult } from '../engine/experiments/result-join.js';
import { specPaths } from '../engine/experiments/spec-paths.js';
import { tokenizerFile } from '../engine/probe/tokenizer-files.js';
import { AUTO_GRAM_PRECISION, runInputKey } from '../engine/experiments/run-inputs.js';
import { withoutWaiting } from '../engine/store/database.js';
import { runInfo } from '../engine/store/history.js';
import { MAX_NAME_LENGTH } from '../engine/store/run-labels.js';
import type { Store } from '../engine/store/store.js';

export interface RepeatDeps {
  policy: FileAccessPolicy;
  store: () => Promise<Store>;
  modelsDir: string;
  app: { version: string; onnxruntime: string };
}

/** The spec with each model pinned to its file's sha256 now; null when a pin given differs (the run says so). */
async function pinned(policy: FileAccessPolicy, store: Store, spec: ExperimentSpec): Promise<ExperimentSpec | null> {
  const real = await checkSpecPaths(policy, spec);
  const models = [];
  for (const [i, model] of spec.models.entries()) {
    let sha256: string;
    try {
      sha256 = await store.digests.sha256(real[i]!);
    } catch {
      return null;
    }
    if (model.sha256 !== undefined && model.sha256.toLowerCase() !== sha256) return null;
    models.push({ ...model, sha256 });
  }
  return { ...spec, models };
}

/** The real paths of the files a run of `spec` reads and a run's CLI would open: its models, probes' data and tokenizers. */
async function usedFiles(spec: ExperimentSpec): Promise<string[]> {
  const { models, probes, tokenizers } = specPaths(spec);
  const paths = [...models, ...probes.map((p) => p.path), ...tokenizers.map(tokenizerFile)];
  return Promise.all(paths.map((path) => realPathOf(path).catch(() => path)));
}

export function repeatMethods(deps: RepeatDeps): Pick<WorkbenchApi, 'repeatRun'> {
  return {
    async repeatRun({ spec }): Promise<RunDetails | null> {
      const started = new Date();
      const name = typeof spec.name === 'string' ? spec.name.trim() : '';
      if (name.length === 0 || name.length > MAX_NAME_LENGTH || !Array.isArray(spec.models)) return null;
      const store = await deps.store();
      const pins = await pinned(deps.policy, store, { ...spec, name });
      const key =
        pins &&
        (await runInputKey(pins, {
          modelsDir: deps.modelsDir,
          app: deps.app,
          precision: AUTO_GRAM_PRECISION,
          sha256: (path) => store.digests.sha256(path),
        }));
      const earlier = key ? store.history.sameInputsRun(key) : null;
      if (!pins || !key || !earlier) return null;
      const record = store.history.repeatRun(earlier, key, pins, (before) => {
        const work = before?.work;
        return {
          appVersion: deps.app.version,
          onnxruntime: deps.app.onnxruntime,
          startedAt: started.toISOString(),
          finishedAt: new Date().toISOString(),
          timingsMs: { total: Date.now() - started.getTime() },
          work: {
            activationsExtracted: 0,
            activationsReused: 0,
            gramsComputed: 0,
            gramsReused: 0,
            pairsComputed: 0,
            pairsReused: (work?.pairsComputed ?? 0) + (work?.pairsReused ?? 0),
          },
          repeatOf: earlier.id,
        };
      });
      const parts = record && store.history.resultParts(record.id);
      if (!record || !parts) return null; // the earlier run went meanwhile: the caller runs it
      const files = await usedFiles(pins);
      try {
        withoutWaiting(store.db, () => store.library.touch(files));
      } catch {
        // A courtesy to the recent lists: another process holding the database costs only that.
      }
      return { run: runInfo(record), result: joinResult(pins, record, parts, deps.app), progress: null };
    },
  };
}
