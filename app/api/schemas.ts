/**
 * Runtime validation of every request that crosses a boundary (IPC, HTTP, CLI), one schema per
 * API method. The TypeScript request types in ./contract.ts are the source of truth; the
 * `satisfies` clause keeps the two in step.
 */
import { z } from 'zod';
import type { ApiMethodName, ApiRequest } from '../common/contract.js';
import { FONT_SIZE_LIMITS, WIDTH_LIMITS } from '../common/figures/figure-options.js';
import {
  bootstrapSchema,
  experimentSpecSchema,
  filePathSchema as filePath,
  layerSelectionSchema,
  maskInputSchema,
  measureSchema,
  probeSpecSchema,
  reduceSpecSchema,
} from '../engine/experiments/spec.js';
import { MAX_NAME_LENGTH } from '../engine/store/run-labels.js';

const none = z.object({}).strict();
const id = (what: string) =>
  z.string().regex(/^[A-Za-z0-9_-]{1,80}$/, `not a ${what} id (letters, digits, - and _; at most 80)`);
const runName = z.string().trim().min(1, 'a name cannot be empty').max(MAX_NAME_LENGTH);
const jobId = id('job');
const perChannel = z.union([z.array(z.number().finite()).min(1).max(4), z.literal('imagenet')]);
const imageOptions = z
  .object({
    size: z.tuple([z.number().int().min(1).max(8192), z.number().int().min(1).max(8192)]).optional(),
    mode: z.enum(['gray', 'rgb']).optional(),
    layout: z.enum(['nchw', 'nhwc']).optional(),
    mean: perChannel.optional(),
    std: perChannel.optional(),
  })
  .strict();

const figureOptionsSchema = z
  .object({
    colormap: z.enum(['viridis', 'magma', 'blue-red']).optional(),
    range: z
      .union([
        z.enum(['unit', 'data']),
        z
          .tuple([z.number().finite(), z.number().finite()])
          .refine(([lo, hi]) => lo < hi, 'a colour range goes from a lower to a higher value'),
      ])
      .optional(),
    bestMatch: z.boolean().optional(),
    axisLabels: z.enum(['names', 'indices']).optional(),
    origin: z.enum(['top', 'bottom']).optional(),
    squareCells: z.boolean().optional(),
    fontSize: z.number().min(FONT_SIZE_LIMITS.min).max(FONT_SIZE_LIMITS.max).optional(),
    width: z.number().int().min(WIDTH_LIMITS.min).max(WIDTH_LIMITS.max).optional(),
  })
  .strict();

export const requestSchemas = {
  appInfo: none,
  inspectModel: z.object({ path: filePath }).strict(),

  listModels: none,
  openModel: z.object({ path: filePath }).strict(),
  forgetModel: z.object({ path: filePath }).strict(),
  modelGraph: z.object({ path: filePath }).strict(),
  listProbes: none,
  openProbe: z
    .object({
      spec: z.string().min(1, 'a probe spec is required').max(8192),
      model: filePath.optional(),
      tokenizer: filePath.optional(),
      maskInput: maskInputSchema.optional(),
    })
    .strict(),
  calibrateModel: z.object({ path: filePath }).strict(),
  listPresets: none,

  createExperiment: z.object({ spec: experimentSpecSchema }).strict(),
  updateExperiment: z.object({ experimentId: id('experiment'), spec: experimentSpecSchema }).strict(),
  listExperiments: none,
  getExperiment: z.object({ experimentId: id('experiment') }).strict(),
  deleteExperiment: z.object({ experimentId: id('experiment') }).strict(),
  repeatRun: z.object({ spec: experimentSpecSchema }).strict(),
  runExperiment: z.object({ experimentId: id('experiment'), name: runName.optional() }).strict(),
  cancelRun: z.object({ runId: id('run') }).strict(),
  listRuns: z
    .object({
      experimentId: id('experiment').optional(),
      status: z
        .array(z.enum(['queued', 'running', 'done', 'failed', 'cancelled', 'interrupted']))
        .max(6)
        .optional(),
      search: z.string().max(500).optional(),
      idPrefix: z
        .string()
        .regex(/^[A-Za-z0-9_-]{1,80}$/, 'a run id prefix is letters, digits, - and _')
        .optional(),
      limit: z.number().int().min(1).max(10_000).optional(),
    })
    .strict(),
  getRun: z.object({ runId: id('run') }).strict(),
  renameRun: z.object({ runId: id('run'), name: runName }).strict(),
  tagRun: z
    .object({
      runId: id('run'),
      add: z.array(z.string().max(100)).max(64).optional(),
      remove: z.array(z.string().max(100)).max(64).optional(),
    })
    .strict(),
  setRunNote: z.object({ runId: id('run'), note: z.string().max(4000) }).strict(),
  deleteRun: z.object({ runId: id('run') }).strict(),
  exportRun: z
    .object({
      runId: id('run'),
      format: z.enum(['json', 'csv', 'npy', 'svg']),
      matrix: z.number().int().min(0).max(1_000_000).optional(),
      seeds: z
        .object({ measure: z.number().int().min(0).max(1000), statistic: z.enum(['mean', 'std']) })
        .strict()
        .optional(),
      pair: z
        .object({
          rows: z.number().int().min(0).max(10_000),
          cols: z.number().int().min(0).max(10_000),
          measure: z.number().int().min(0).max(1000).optional(),
        })
        .strict()
        .optional(),
      figure: figureOptionsSchema.optional(),
      save: z.boolean().optional(),
    })
    .strict()
    .refine(
      (r) => [r.matrix, r.seeds, r.pair].filter((x) => x !== undefined).length <= 1,
      'export one of: a matrix, a seeds summary, a pair of models',
    ),

  extractActivations: z
    .object({
      model: filePath,
      probe: probeSpecSchema,
      layers: layerSelectionSchema.optional(),
      out: filePath,
      batchSize: z.number().int().min(1).max(65_536).optional(),
      optimization: z.enum(['fast', 'exact']).optional(),
      image: imageOptions.optional(),
      nonFinite: z.enum(['error', 'report']).optional(),
      reduce: reduceSpecSchema.optional(),
      tokenizer: filePath.optional(),
      maskInput: maskInputSchema.optional(),
      jobId: jobId.optional(),
    })
    .strict(),
  compareLayers: z
    .object({
      a: filePath,
      b: filePath.optional(),
      probe: probeSpecSchema.optional(),
      probeB: probeSpecSchema.optional(),
      tokenizer: filePath.optional(),
      tokenizerB: filePath.optional(),
      maskInput: maskInputSchema.optional(),
      reduce: reduceSpecSchema.optional(),
      layers: layerSelectionSchema.optional(),
      layersB: layerSelectionSchema.optional(),
      measures: z.array(measureSchema).min(1, 'name at least one measure').max(16),
      bootstrap: bootstrapSchema.optional(),
      threads: z.number().int().min(1).max(256).optional(),
      precision: z.enum(['auto', 'float32', 'float64']).optional(),
      memoryBudgetMiB: z
        .number()
        .int()
        .min(1)
        .max(16 * 1024 * 1024)
        .optional(),
      jobId: jobId.optional(),
    })
    .strict(),
  cancelJob: z.object({ jobId }).strict(),

  getCacheInfo: none,
  setCacheLimit: z.object({ bytes: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).nullable() }).strict(),
  clearCache: none,
} satisfies { [M in ApiMethodName]: z.ZodType<ApiRequest<M>, unknown> };

export const API_METHODS = Object.keys(requestSchemas) as ApiMethodName[];

export function isApiMethod(name: string): name is ApiMethodName {
  return Object.prototype.hasOwnProperty.call(requestSchemas, name);
}
