/**
 * API methods over experiments, runs and exports. Every path a spec names is checked
 * against the file-access policy when the experiment is created or changed and again when it
 * runs; models without a sha256 get the file's, so a run of a changed file fails clearly.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { ExperimentInfo, ExperimentSpec, RunDetails, WorkbenchApi } from '../common/contract.js';
import { WorkbenchError } from '../common/errors.js';
import type { FileAccessPolicy } from './file-access.js';
import { checkSpecPaths } from './spec-access.js';
import type { ExperimentMethodName } from './method-groups.js';
import { writeFileAtomic } from '../engine/io/atomic.js';
import { exportResult } from '../engine/experiments/export/export-result.js';
import { assembleResult } from '../engine/experiments/results.js';
import type { ExperimentService } from '../engine/experiments/service.js';
import { parseExperimentSpec } from '../engine/experiments/spec.js';
import { runInfo, type ExperimentRecord } from '../engine/store/history.js';
import type { Store } from '../engine/store/store.js';

export interface ExperimentsDeps {
  policy: FileAccessPolicy;
  store: () => Promise<Store>;
  service: () => Promise<ExperimentService>;
  app: { version: string; onnxruntime: string };
}

type ExperimentMethods = Pick<WorkbenchApi, ExperimentMethodName>;

/**
 * The spec as stored: models pinned to the sha256 of their file today, from the digests the store
 * remembers by file identity (the CLI's `repeatRun` has just hashed them).
 */
async function pinModels(policy: FileAccessPolicy, store: Store, spec: ExperimentSpec): Promise<ExperimentSpec> {
  const real = await checkSpecPaths(policy, spec);
  const models = await Promise.all(
    spec.models.map(async (m, i) => (m.sha256 ? m : { ...m, sha256: await store.digests.sha256(real[i]!) })),
  );
  return { ...spec, models };
}

export function experimentMethods(deps: ExperimentsDeps): ExperimentMethods {
  const { policy } = deps;

  function info(store: Store, record: ExperimentRecord): ExperimentInfo {
    const last = store.history.lastRun(record.id);
    return {
      id: record.id,
      name: record.name,
      kind: record.kind,
      spec: parseExperimentSpec(record.spec, `stored spec of experiment ${record.id}`),
      createdAt: record.createdAt,
      updatedAt: record.updatedAt,
      runs: store.history.runCount(record.id),
      lastRun: last ? runInfo(last) : null,
    };
  }

  async function details(runId: string): Promise<RunDetails> {
    const store = await deps.store();
    const service = await deps.service();
    const record = store.history.run(runId);
    const parts = store.history.resultParts(runId);
    return {
      run: runInfo(record),
      result: parts ? assembleResult(record, parts, deps.app) : null,
      progress:
        record.status === 'running' || record.status === 'queued'
          ? (service.progressOf(runId) ?? record.progress)
          : null,
    };
  }

  async function uniqueExportPath(dir: string, fileName: string): Promise<string> {
    await fs.mkdir(dir, { recursive: true });
    const dot = fileName.lastIndexOf('.');
    const [stem, ext] = dot > 0 ? [fileName.slice(0, dot), fileName.slice(dot)] : [fileName, ''];
    for (let k = 1; ; k++) {
      const candidate = join(dir, k === 1 ? fileName : `${stem}-${k}${ext}`);
      try {
        await fs.access(candidate);
      } catch {
        return candidate;
      }
    }
  }

  return {
    async createExperiment({ spec }) {
      const parsed = parseExperimentSpec(spec);
      const store = await deps.store();
      return info(store, store.history.createExperiment(await pinModels(policy, store, parsed)));
    },

    async updateExperiment({ experimentId, spec }) {
      const parsed = parseExperimentSpec(spec);
      const store = await deps.store();
      return info(store, store.history.updateExperiment(experimentId, await pinModels(policy, store, parsed)));
    },

    async listExperiments() {
      const store = await deps.store();
      return store.history.listExperiments().map((r) => info(store, r));
    },

    async getExperiment({ experimentId }) {
      const store = await deps.store();
      return info(store, store.history.experiment(experimentId));
    },

    async deleteExperiment({ experimentId }) {
      const store = await deps.store();
      return { deletedRuns: store.history.deleteExperiment(experimentId) };
    },

    async runExperiment({ experimentId, name }) {
      const store = await deps.store();
      const record = store.history.experiment(experimentId);
      await checkSpecPaths(policy, parseExperimentSpec(record.spec, `stored spec of experiment ${experimentId}`));
      return (await deps.service()).enqueue(experimentId, name);
    },

    cancelRun: async ({ runId }) => (await deps.service()).cancel(runId),

    async listRuns(request) {
      const store = await deps.store();
      return store.history.listRuns(request).map(runInfo);
    },

    getRun: ({ runId }) => details(runId),

    async renameRun({ runId, name }) {
      const store = await deps.store();
      return runInfo(store.history.renameRun(runId, name));
    },

    async tagRun({ runId, add, remove }) {
      const store = await deps.store();
      return runInfo(store.history.tagRun(runId, { ...(add ? { add } : {}), ...(remove ? { remove } : {}) }));
    },

    async setRunNote({ runId, note }) {
      const store = await deps.store();
      return runInfo(store.history.setNote(runId, note));
    },

    async deleteRun({ runId }) {
      const store = await deps.store();
      store.history.deleteRun(runId);
      return { deleted: true };
    },

    async exportRun(request) {
      const { result, run } = await details(request.runId);
      if (!result) {
        throw new WorkbenchError('NOT_FOUND', `run ${request.runId} (${run.status}) has no result to export yet`);
      }
      const file = exportResult(result, request);
      if (request.save) {
        const store = await deps.store();
        const target = await uniqueExportPath(store.dirs.exports, file.fileName);
        await writeFileAtomic(target, Buffer.from(file.data, file.encoding === 'base64' ? 'base64' : 'utf8'));
        file.savedTo = target;
      }
      return file;
    },
  };
}
