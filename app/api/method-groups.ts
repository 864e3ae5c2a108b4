/**
 * The API's methods by the module that implements them (each loaded on its group's first call,
 * lazy-methods.ts). Every method of ApiMethods is in exactly one group: workbench.ts would not
 * typecheck otherwise.
 */
export const LIBRARY_METHODS = [
  'inspectModel',
  'openModel',
  'listModels',
  'forgetModel',
  'modelGraph',
  'listProbes',
  'openProbe',
  'calibrateModel',
  'listPresets',
] as const;

export const EXPERIMENT_METHODS = [
  'createExperiment',
  'updateExperiment',
  'listExperiments',
  'getExperiment',
  'deleteExperiment',
  'runExperiment',
  'cancelRun',
  'listRuns',
  'getRun',
  'renameRun',
  'tagRun',
  'setRunNote',
  'deleteRun',
  'exportRun',
] as const;

/** Its own group: the CLI asks it before anything else, and it loads no zod, engine or CKA code. */
export const REPEAT_METHODS = ['repeatRun'] as const;

export const CACHE_METHODS = ['getCacheInfo', 'setCacheLimit', 'clearCache'] as const;

export const ONE_OFF_METHODS = ['extractActivations', 'compareLayers', 'cancelJob'] as const;

export type LibraryMethodName = (typeof LIBRARY_METHODS)[number];
export type ExperimentMethodName = (typeof EXPERIMENT_METHODS)[number];
export type RepeatMethodName = (typeof REPEAT_METHODS)[number];
export type CacheMethodName = (typeof CACHE_METHODS)[number];
export type OneOffMethodName = (typeof ONE_OFF_METHODS)[number];
