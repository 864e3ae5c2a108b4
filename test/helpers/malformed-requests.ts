/**
 * Malformed requests for every method of the API (issue 8 §5: every IPC and HTTP input validated
 * against a schema). Each transport test walks the whole table and expects BAD_INPUT for each —
 * and a method added to the API without entries here fails the walk, so it cannot slip through.
 */
import type { ApiMethodName, ExperimentSpec } from '../../app/common/contract.js';

const spec: ExperimentSpec = {
  name: 'valid apart from one thing',
  kind: 'self',
  models: [{ path: '/models/a.onnx' }],
  probe: 'random:10',
  layers: 'all',
  measures: ['linear'],
};

/** Requests with the wrong shape, wrong types, out-of-range values or unknown fields. */
const NO_PARAMETERS = [{ unexpected: true }, { path: '/etc/passwd' }];

/** Bodies that are not request objects at all, for every method. */
export const NOT_OBJECTS: unknown[] = [[], ['appInfo'], 'text', 42, true];

export const MALFORMED: Record<ApiMethodName, unknown[]> = {
  appInfo: NO_PARAMETERS,
  inspectModel: [
    {},
    { path: 3 },
    { path: '' },
    { path: null },
    { path: ['a.onnx'] },
    { path: 'a\u0000b.onnx' },
    { path: 'x'.repeat(5000) },
    { path: '/a.onnx', extra: 1 },
  ],
  listModels: NO_PARAMETERS,
  openModel: [
    {},
    { path: 7 },
    { path: '' },
    { path: { toString: 'x' } },
    { path: '/a\u0000.onnx' },
    { path: '/a.onnx', x: 1 },
  ],
  listProbes: NO_PARAMETERS,
  openProbe: [
    {},
    { spec: 1 },
    { spec: '' },
    { spec: 'x'.repeat(9000) },
    { spec: 'random:5', model: 5 },
    { spec: 'random:5', model: '' },
    { spec: 'random:5', extra: true },
  ],
  listPresets: NO_PARAMETERS,
  createExperiment: [
    {},
    { spec: null },
    { spec: {} },
    { spec: { ...spec, kind: 'everything' } },
    { spec: { ...spec, models: [] } },
    { spec: { ...spec, models: [{ path: '/a.onnx' }, { path: '/b.onnx' }] } },
    { spec: { ...spec, models: [{ path: '/a.onnx', sha256: 'not-a-hash' }] } },
    { spec: { ...spec, models: [{ path: '/a.onnx', evil: true }] } },
    { spec: { ...spec, measures: [] } },
    { spec: { ...spec, measures: ['cosine'] } },
    { spec: { ...spec, measures: ['linear', 'linear'] } },
    { spec: { ...spec, measures: ['minibatch:2'] } },
    { spec: { ...spec, probe: 'ftp://example.com/x' } },
    { spec: { ...spec, probe: 'random:-5' } },
    { spec: { ...spec, layers: '' } },
    { spec: { ...spec, layers: ['all', 'all'] } },
    { spec: { ...spec, name: '' } },
    { spec: { ...spec, name: 'x'.repeat(201) } },
    { spec: { ...spec, options: { batchSize: 0 } } },
    { spec: { ...spec, options: { threads: 1e9 } } },
    { spec: { ...spec, options: { bootstrap: { samples: 1, seed: 0 } } } },
    { spec: { ...spec, options: { memoryBudgetMiB: 1 } } },
    { spec: { ...spec, options: { shell: 'rm -rf /' } } },
    { spec, extra: 1 },
  ],
  updateExperiment: [
    { spec },
    { experimentId: 'e1' },
    { experimentId: '../../etc', spec },
    { experimentId: 5, spec },
    { experimentId: 'e1', spec: { ...spec, kind: 'pair' } },
  ],
  listExperiments: NO_PARAMETERS,
  getExperiment: [
    {},
    { experimentId: '../x' },
    { experimentId: 'a'.repeat(81) },
    { experimentId: 7 },
    { experimentId: "e1' OR 1=1 --" },
  ],
  deleteExperiment: [{}, { experimentId: '' }, { experimentId: 'e/1' }, { experimentId: 'e1', cascade: true }],
  runExperiment: [
    {},
    { experimentId: 'x y' },
    { experimentId: 'e1', name: '' },
    { experimentId: 'e1', name: '   ' },
    { experimentId: 'e1', name: 'x'.repeat(201) },
    { experimentId: 'e1', priority: 1 },
  ],
  cancelRun: [{}, { runId: 'a/b' }, { runId: 1 }, { runId: 'r1', force: true }],
  listRuns: [
    { limit: 0 },
    { limit: 1.5 },
    { limit: 100_000 },
    { limit: '10' },
    { status: ['bogus'] },
    { status: 'running' },
    { status: ['done', 'done', 'done', 'done', 'done', 'done', 'done'] },
    { experimentId: '..' },
    { orderBy: 'name; DROP TABLE runs' },
  ],
  getRun: [{}, { runId: '%2e%2e' }, { runId: null }],
  renameRun: [{ runId: 'r1' }, { runId: 'r1', name: '   ' }, { runId: 'r1', name: 5 }, { name: 'x' }],
  deleteRun: [{}, { runId: '' }, { runId: ['r1'] }],
  exportRun: [
    { runId: 'r1' },
    { runId: 'r1', format: 'exe' },
    { runId: 'r1', format: 'csv', matrix: -1 },
    { runId: 'r1', format: 'csv', matrix: 0.5 },
    { runId: 'r1', format: 'csv', matrix: 1, seeds: { measure: 0, statistic: 'mean' } },
    { runId: 'r1', format: 'csv', seeds: { measure: 0, statistic: 'median' } },
    { runId: 'r1', format: 'csv', save: 'yes' },
    { runId: 'r1', format: 'json', path: '/tmp/out.json' },
  ],
  getCacheInfo: NO_PARAMETERS,
  setCacheLimit: [{}, { bytes: -1 }, { bytes: 1.5 }, { bytes: '10' }, { bytes: 2 ** 60 }, { bytes: null }],
  clearCache: NO_PARAMETERS,
};
