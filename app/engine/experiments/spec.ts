/**
 * Experiment specs: one zod schema, applied at every boundary (API requests, `run SPEC.json`,
 * specs read back from the database). Beyond shapes it checks what a run would otherwise fail on
 * late: the number of models for the kind, one layer selection per model, measures and the probe
 * spec that parse.
 */
import { z } from 'zod';
import type { ExperimentKind, ExperimentSpec, ReduceSpec } from '../../common/contract.js';
import { WorkbenchError } from '../../common/errors.js';
import { REDUCTIONS, mergeReduceSpecs } from '../../common/reductions.js';
import { isBaseline, parseMeasure, type Measure } from '../similarity/index.js';
import { parseProbeSpec } from '../probe/spec.js';
import { MAX_NAME_LENGTH } from '../store/run-labels.js';

const MODEL_COUNT: Record<ExperimentKind, { min: number; max: number; text: string }> = {
  pair: { min: 2, max: 2, text: 'exactly 2 models (A and B)' },
  self: { min: 1, max: 1, text: 'exactly 1 model' },
  seeds: { min: 2, max: 64, text: 'at least 2 models (trainings of one architecture)' },
  family: { min: 1, max: 64, text: 'at least 1 model' },
};

export const filePathSchema = z
  .string()
  .min(1, 'a file path is required')
  .max(4096, 'the path is too long')
  .refine((p) => !p.includes('\0'), 'the path contains a NUL byte');

export const reductionSchema = z.enum(REDUCTIONS as unknown as ['flatten', 'mean', 'first', 'last', 'tokens']);

export const reduceSpecSchema = z.union([
  reductionSchema,
  z
    .object({
      default: reductionSchema.optional(),
      layers: z
        .record(z.string().min(1).max(4096), reductionSchema)
        .refine((r) => Object.keys(r).length <= 10_000, 'at most 10 000 layers')
        .optional(),
    })
    .strict(),
]);

export const maskInputSchema = z.string().min(1).max(1000);

const modelRefSchema = z
  .object({
    path: filePathSchema,
    sha256: z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, 'a sha256 is 64 hexadecimal digits')
      .transform((h) => h.toLowerCase())
      .optional(),
    label: z.string().min(1).max(200).optional(),
    probe: z.lazy(() => probeSpecSchema).optional(),
    tokenizer: filePathSchema.optional(),
    maskInput: maskInputSchema.optional(),
    reduce: reduceSpecSchema.optional(),
  })
  .strict();

export const measureSchema = z
  .string()
  .min(1)
  .max(64)
  .superRefine((text, ctx) => {
    try {
      parseMeasure(text);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
    }
  });

export const layerSelectionSchema = z.string().trim().min(1, 'a layer selection is required').max(100_000);

export const probeSpecSchema = z
  .string()
  .min(1)
  .max(8192)
  .superRefine((text, ctx) => {
    try {
      parseProbeSpec(text);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
    }
  });

export const bootstrapSchema = z
  .object({
    samples: z.number().int().min(2).max(100_000),
    seed: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    level: z.number().gt(0).lt(1).optional(),
  })
  .strict();

const optionsSchema = z
  .object({
    batchSize: z.number().int().min(1).max(65_536).optional(),
    bootstrap: bootstrapSchema.optional(),
    threads: z.number().int().min(1).max(256).optional(),
    memoryBudgetMiB: z
      .number()
      .int()
      .min(16)
      .max(16 * 1024 * 1024)
      .optional(),
  })
  .strict();

export const experimentSpecSchema = z
  .object({
    name: z.string().trim().min(1, 'an experiment needs a name').max(MAX_NAME_LENGTH),
    kind: z.enum(['pair', 'self', 'seeds', 'family']),
    models: z.array(modelRefSchema).min(1, 'an experiment needs at least one model').max(64),
    probe: probeSpecSchema,
    layers: z.union([layerSelectionSchema, z.array(layerSelectionSchema).min(1).max(64)]),
    measures: z
      .array(measureSchema)
      .min(1, 'name at least one measure (linear, rbf:T, debiased, minibatch:B, cca, svcca:T, pwcca, …)')
      .max(16)
      .refine((list) => new Set(list).size === list.length, 'a measure is listed twice'),
    reduce: reduceSpecSchema.optional(),
    options: optionsSchema.optional(),
  })
  .strict()
  .superRefine((spec, ctx) => {
    const count = MODEL_COUNT[spec.kind];
    if (spec.models.length < count.min || spec.models.length > count.max) {
      ctx.addIssue({
        code: 'custom',
        path: ['models'],
        message: `a ${spec.kind} experiment takes ${count.text}, got ${spec.models.length}`,
      });
    }
    const baselines = spec.measures.filter((m) => {
      try {
        return isBaseline(parseMeasure(m));
      } catch {
        return false; // reported by the measure's own check
      }
    });
    if (spec.options?.bootstrap && baselines.length > 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['options', 'bootstrap'],
        message: `bootstrap intervals are computed for CKA measures only, not for ${baselines.join(', ')}`,
      });
    }
    if (Array.isArray(spec.layers) && spec.layers.length !== spec.models.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['layers'],
        message: `one layer selection per model: ${spec.models.length} models but ${spec.layers.length} selections`,
      });
    }
  }) satisfies z.ZodType<ExperimentSpec, unknown>;

/** The first few problems of a failed parse, each with where it is. */
export function describeIssues(issues: readonly { path: PropertyKey[]; message: string }[]): string {
  return issues
    .slice(0, 3)
    .map((i) => (i.path.length > 0 ? `${i.path.map(String).join('.')}: ${i.message}` : i.message))
    .join('; ');
}

/** Validates an experiment spec from anywhere; `source` names it in the error ("SPEC.json"). */
export function parseExperimentSpec(value: unknown, source = 'experiment spec'): ExperimentSpec {
  const result = experimentSpecSchema.safeParse(value);
  if (!result.success) {
    throw new WorkbenchError('BAD_INPUT', `invalid ${source}: ${describeIssues(result.error.issues)}`);
  }
  return result.data as ExperimentSpec;
}

export function layerSelectionOf(spec: ExperimentSpec, model: number): string {
  return Array.isArray(spec.layers) ? spec.layers[model]! : spec.layers;
}

/** The probe model i runs on: its own view of the examples, else the experiment's probe. */
export function probeOf(spec: ExperimentSpec, model: number): string {
  return spec.models[model]!.probe ?? spec.probe;
}

/** Model i's reductions: its own over the experiment's. */
export function reduceOf(spec: ExperimentSpec, model: number): ReduceSpec | undefined {
  return mergeReduceSpecs(spec.reduce, spec.models[model]!.reduce);
}

export function specMeasures(spec: ExperimentSpec): { text: string; measure: Measure }[] {
  return spec.measures.map((text) => ({ text, measure: parseMeasure(text) }));
}
