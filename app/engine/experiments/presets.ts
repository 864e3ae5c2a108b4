/**
 * Experiments on the shipped zoo (models/zoo.json), as specs ready to create:
 *
 * - seeds sanity check (Kornblith et al. 2019, Table 2 style): the plain CNNs trained from
 *   different seeds (family `plain`, depth 1), ReLU and pooling layers, linear, RBF (0.4, 0.8)
 *   and debiased CKA;
 * - the same check for the paper's baselines (the rest of Table 2: CCA ρ̄ and R², SVCCA at 99% of
 *   the variance, PWCCA, linear regression) and Procrustes, beside linear CKA: a preset of its
 *   own because their SVDs take minutes where CKA takes seconds;
 * - depth family (Kornblith et al. 2019 Fig. 5; Nguyen et al. 2021): the seed-0 plain CNNs of
 *   every depth, each against itself and against the others — the block structure of deep nets;
 * - ViT vs CNN (the question of Raghu et al. 2021, "Do Vision Transformers See Like
 *   Convolutional Neural Networks?"): which layers of the plain CNN each block of the zoo's vision
 *   transformer resembles. Both sides are averaged over positions (`mean`: the ViT's tokens, the
 *   CNN's spatial positions), so a layer is compared by which features it holds, not where.
 *
 * zoo.json lists the CNNs under `models` and the transformers under `transformers`. Models the
 * zoo lists but are not on disk are named in `missing`; such a preset is unavailable.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ExperimentPreset, ExperimentSpec } from '../../common/contract.js';
import { defaultModelsDir } from '../probe/models-dir.js';
import { FILE_SIZE_LIMITS, readRegularText } from '../io/regular-file.js';

interface ZooModel {
  name: string;
  file: string;
  family?: string;
  seed?: number;
  depth?: number;
  sha256?: string;
  layers?: {
    embedding?: { tensor?: string };
    blocks?: { tensor?: string }[];
    attentionResidual?: { tensor?: string }[];
    pool?: { tensor?: string };
  };
}

/** Examples of the built-in probe the presets use (of the 5 000 shipped). */
export const PRESET_PROBE_SIZE = 1000;

export interface ZooEntry {
  name: string;
  path: string;
  sha256: string | null;
  family: string | null;
  seed: number | null;
  depth: number | null;
  present: boolean;
  /** Transformers: their representative layers (embedding, each block's two residual sums, the pooled token), in order. */
  blockLayers: string[];
}

export async function readZoo(modelsDir = defaultModelsDir()): Promise<ZooEntry[]> {
  let models: ZooModel[];
  try {
    const zoo = JSON.parse(await readRegularText(join(modelsDir, 'zoo.json'), { maxBytes: FILE_SIZE_LIMITS.json })) as {
      models?: ZooModel[];
      transformers?: ZooModel[];
    };
    models = [
      ...(Array.isArray(zoo.models) ? zoo.models : []),
      ...(Array.isArray(zoo.transformers) ? zoo.transformers : []),
    ];
  } catch {
    return [];
  }
  return models
    .filter((m) => typeof m.name === 'string' && typeof m.file === 'string')
    .map((m) => {
      const path = resolve(modelsDir, m.file);
      return {
        name: m.name,
        path,
        sha256: typeof m.sha256 === 'string' ? m.sha256 : null,
        family: m.family ?? null,
        seed: typeof m.seed === 'number' ? m.seed : null,
        depth: typeof m.depth === 'number' ? m.depth : null,
        present: existsSync(path),
        blockLayers: transformerLayers(m),
      };
    });
}

/** The embedding, each block's residual sums (after attention, after the MLP) and the pooled token. */
function transformerLayers(m: ZooModel): string[] {
  const l = m.layers;
  if (!l?.blocks) return [];
  const tensors = [l.embedding?.tensor];
  l.blocks.forEach((block, k) => tensors.push(l.attentionResidual?.[k]?.tensor, block.tensor));
  tensors.push(l.pool?.tensor);
  return tensors.filter((t): t is string => typeof t === 'string' && t.length > 0);
}

function modelRefs(entries: readonly ZooEntry[]): ExperimentSpec['models'] {
  return entries.map((e) => ({ path: e.path, label: e.name, ...(e.sha256 ? { sha256: e.sha256 } : {}) }));
}

function preset(
  id: ExperimentPreset['id'],
  title: string,
  description: string,
  spec: ExperimentSpec,
  entries: readonly ZooEntry[],
  minimum: number,
): ExperimentPreset {
  const missing = entries.filter((e) => !e.present).map((e) => e.name);
  if (entries.length < minimum) missing.push(`at least ${minimum} zoo models (found ${entries.length})`);
  return { id, title, description, spec, available: missing.length === 0, missing };
}

export async function listPresets(modelsDir = defaultModelsDir()): Promise<ExperimentPreset[]> {
  const zoo = await readZoo(modelsDir);
  const plain = zoo.filter((m) => m.family === 'plain');
  const seeds = plain.filter((m) => m.depth === 1).sort((a, b) => (a.seed ?? 0) - (b.seed ?? 0));
  const depths = plain.filter((m) => m.seed === 0).sort((a, b) => (a.depth ?? 0) - (b.depth ?? 0));
  const probe = `fashion-mnist:${PRESET_PROBE_SIZE}`;
  const vit = zoo.find((m) => m.family === 'vit' && m.blockLayers.length > 0);
  const cnn = seeds[0];
  const vitVsCnn = [vit, cnn].filter((m): m is ZooEntry => m !== undefined);
  // Each stage's ReLU and its pooled output, and the global pool: six layers, neighbours much
  // alike (a pool of its ReLU), so finding the corresponding one is a real test.
  const seedLayers = 'op:Relu,MaxPool,GlobalAveragePool';
  return [
    preset(
      'seeds-sanity',
      'Sanity check: seeds',
      `${seeds.length} trainings of one plain CNN from different seeds. How often is a layer's most similar layer in another seed the same layer? CKA should find it almost always.`,
      {
        name: 'Sanity check: plain CNN seeds',
        kind: 'seeds',
        models: modelRefs(seeds),
        probe,
        layers: seedLayers,
        // The paper's Table 2 CKA measures, and debiased CKA.
        measures: ['linear', 'rbf:0.4', 'rbf:0.8', 'debiased'],
      },
      seeds,
      2,
    ),
    preset(
      'seeds-baselines',
      'Table 2: CKA and the CCA family',
      `The same sanity check for the paper's baselines — CCA, SVCCA, PWCCA, linear regression — and Procrustes, beside linear CKA. The CCA family is undefined on layers with as many features as examples. Takes a few minutes (an SVD per layer and per pair).`,
      {
        name: 'Table 2: CKA and the CCA family on plain CNN seeds',
        kind: 'seeds',
        models: modelRefs(seeds),
        probe,
        layers: seedLayers,
        measures: ['linear', 'cca', 'cca-r2', 'svcca:0.99', 'svcca-r2:0.99', 'pwcca', 'linreg', 'procrustes'],
      },
      seeds,
      2,
    ),
    preset(
      'depth-family',
      'Depth: self-similarity of deeper nets',
      `Plain CNNs of depth ${depths.map((d) => `${d.depth}×`).join(', ')}: each against itself and the others. Deep nets trained on little data show blocks of near-identical layers.`,
      {
        name: 'Depth family: plain CNNs',
        kind: 'family',
        models: modelRefs(depths),
        probe,
        layers: 'op:Relu',
        measures: ['linear'],
      },
      depths,
      2,
    ),
    preset(
      'vit-vs-cnn',
      'ViT vs CNN: which layers resemble which',
      `The zoo's vision transformer (${vit?.name ?? 'missing'}) against the plain CNN (${cnn?.name ?? 'missing'}), both trained on Fashion-MNIST: which CNN layers each transformer block resembles (Raghu et al. 2021). Tokens and spatial positions are averaged (mean).`,
      {
        name: 'ViT vs CNN',
        kind: 'pair',
        models: modelRefs(vitVsCnn),
        probe,
        // The transformer's blocks as its zoo entry lists them; the CNN's stages (ReLU and pooled).
        // Not the CNN's global pool: averaged over positions it is its last ReLU again.
        layers: [vit?.blockLayers.join(',') ?? 'all', 'op:Relu,MaxPool'],
        measures: ['linear'],
        reduce: 'mean',
      },
      vitVsCnn,
      2,
    ),
  ];
}
