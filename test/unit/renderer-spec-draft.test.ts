/**
 * The experiment builder's form → spec and back, checked against the engine's own spec schema:
 * every spec the form builds is one the API accepts, and the presets survive a round trip.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { parseExperimentSpec } from '../../app/engine/experiments/spec.js';
import { listPresets } from '../../app/engine/experiments/presets.js';
import {
  buildSpec,
  draftFromSpec,
  emptyDraft,
  measureSpecsOf,
  measuresDraftOf,
  probeDraftOf,
  probeSpecOf,
  suggestedName,
  type Draft,
} from '../../renderer/src/lib/spec-draft.js';
import { repoRoot } from '../helpers/paths.js';

const zoo = (name: string) => join(repoRoot, 'models/zoo', `${name}.onnx`);

function pairDraft(): Draft {
  const draft = emptyDraft();
  draft.models = [
    { path: zoo('plain-d1-s0'), label: '' },
    { path: zoo('plain-d2-s0'), label: 'deeper' },
  ];
  draft.probe.n = '200';
  return draft;
}

describe('building a spec from the form', () => {
  it('writes the spec the API takes, with one layer selection when the models agree', () => {
    const draft = pairDraft();
    const built = buildSpec(draft, { [zoo('plain-d1-s0')]: 'op:Relu', [zoo('plain-d2-s0')]: 'op:Relu' });
    expect(built).toEqual({
      ok: true,
      spec: {
        name: 'plain-d1-s0 vs deeper',
        kind: 'pair',
        models: [{ path: zoo('plain-d1-s0') }, { path: zoo('plain-d2-s0'), label: 'deeper' }],
        probe: 'fashion-mnist:200',
        layers: 'op:Relu',
        measures: ['linear'],
      },
    });
    if (built.ok) expect(parseExperimentSpec(built.spec)).toEqual(built.spec);
  });

  it('a model’s own probe and tokenizer, a text probe and a reduction: a spec the API takes, and back', () => {
    const draft = pairDraft();
    draft.probe = { ...draft.probe, source: 'text', path: '/data/sentences.txt' };
    draft.models[0]!.tokenizer = ' /tok/wordpiece.json ';
    draft.models[1]!.probe = { ...emptyDraft().probe, source: 'file', path: '/data/b.npz', key: '' };
    draft.reduce = 'mean';
    const built = buildSpec(draft, {});
    expect(built.ok).toBe(true);
    if (!built.ok) return;
    expect(built.spec).toMatchObject({
      probe: 'text:/data/sentences.txt',
      models: [
        { path: zoo('plain-d1-s0'), tokenizer: '/tok/wordpiece.json' },
        { path: zoo('plain-d2-s0'), label: 'deeper', probe: 'npz:/data/b.npz' },
      ],
      reduce: 'mean',
    });
    expect(parseExperimentSpec(built.spec)).toEqual(built.spec);
    const back = draftFromSpec(built.spec);
    expect(buildSpec(back.draft, back.selections)).toEqual(built);
    // A model's own probe that is not filled in yet stops the form, naming the model.
    draft.models[1]!.probe = { ...emptyDraft().probe, source: 'folder', path: '' };
    const problems = buildSpec(draft, {});
    expect(problems.ok ? [] : problems.problems).toContain(
      "deeper's own probe: give the path of a folder of PNG/JPEG images",
    );
  });

  it('keeps one selection per model when they differ, and all options', () => {
    const draft = pairDraft();
    draft.name = '  mine ';
    draft.measures = {
      ...draft.measures,
      rbf: true,
      rbfThreshold: '0.5',
      debiased: true,
      minibatch: true,
      minibatchSize: '64',
    };
    draft.options = { batchSize: '32', bootstrapSamples: '100', bootstrapSeed: '7', threads: '2' };
    const built = buildSpec(draft, { [zoo('plain-d1-s0')]: 'all' });
    expect(built.ok).toBe(true);
    if (!built.ok) return;
    expect(built.spec).toMatchObject({
      name: 'mine',
      layers: 'all',
      measures: ['linear', 'rbf:0.5', 'debiased', 'minibatch:64'],
      options: { batchSize: 32, bootstrap: { samples: 100, seed: 7 }, threads: 2 },
    });
    const differing = buildSpec(draft, { [zoo('plain-d1-s0')]: 'op:Relu', [zoo('plain-d2-s0')]: 'preset:blocks' });
    expect(differing.ok && differing.spec.layers).toEqual(['op:Relu', 'preset:blocks']);
    if (differing.ok) expect(() => parseExperimentSpec(differing.spec)).not.toThrow();
  });

  it('says what is missing or wrong, in the form’s words', () => {
    const draft = emptyDraft();
    draft.probe.n = '2';
    draft.measures.linear = false;
    const built = buildSpec(draft, {});
    expect(built).toEqual({
      ok: false,
      problems: [
        'a pair experiment takes two models: A (rows) and B (columns); none is chosen',
        'probe: Fashion-MNIST needs a whole number of examples ≥ 4',
        'choose at least one measure',
        'give the experiment a name',
      ],
    });
    const seeds = pairDraft();
    seeds.kind = 'self';
    seeds.measures = { ...seeds.measures, rbf: true, rbfThreshold: '-1', minibatch: true, minibatchSize: '3' };
    seeds.options.threads = '0';
    const problems = buildSpec(seeds, { [zoo('plain-d1-s0')]: '' });
    expect(problems.ok).toBe(false);
    if (problems.ok) return;
    expect(problems.problems).toEqual([
      'a self experiment takes one model, compared with itself; 2 are chosen',
      'plain-d1-s0: choose at least one layer',
      'the RBF threshold must be a positive number (e.g. 0.4)',
      'the minibatch size must be a whole number ≥ 4',
      'threads must be a whole number from 1 to 256',
    ]);
  });

  it('names the probe files the engine reads', () => {
    const probe = emptyDraft().probe;
    expect(probeSpecOf({ ...probe, source: 'file', path: '/d/x.npy' })).toEqual({ spec: 'npy:/d/x.npy' });
    expect(probeSpecOf({ ...probe, source: 'file', path: '/d/x.npz', key: 'images' })).toEqual({
      spec: 'npz:/d/x.npz:images',
    });
    expect(probeSpecOf({ ...probe, source: 'file', path: '/d/x.csv' })).toEqual({
      problem: '/d/x.csv: a probe file is an .npy or .npz array',
    });
    expect(probeSpecOf({ ...probe, source: 'folder', path: '/d/img' })).toEqual({ spec: 'images:/d/img' });
    expect(probeDraftOf('images:/d/img?size=32')).toMatchObject({ source: 'spec', spec: 'images:/d/img?size=32' });
    expect(probeDraftOf('npy:/d/x.npy')).toMatchObject({ source: 'file', path: '/d/x.npy' });
  });

  it('reads measures back, keeping the forms it has no control for', () => {
    const draft = measuresDraftOf(['rbf:0.8', 'debiased-rbf:0.5', 'minibatch:32:1']);
    expect(draft).toMatchObject({
      linear: false,
      rbf: true,
      rbfThreshold: '0.8',
      other: ['debiased-rbf:0.5', 'minibatch:32:1'],
    });
    expect(measureSpecsOf(draft).specs).toEqual(['rbf:0.8', 'debiased-rbf:0.5', 'minibatch:32:1']);
  });

  it('the baselines: ticked, with SVCCA’s variance kept, read back, and refused with bootstrap', () => {
    const specs = ['linear', 'cca', 'cca-r2', 'svcca:0.99', 'svcca-r2:0.99', 'pwcca', 'linreg', 'procrustes'];
    const draft = measuresDraftOf(specs);
    expect(draft).toMatchObject({ cca: true, ccaR2: true, svcca: true, svccaR2: true, svccaKeep: '0.99', other: [] });
    expect(measureSpecsOf(draft).specs).toEqual(specs);
    // two different fractions: the form shows one, the other is kept as written
    expect(measuresDraftOf(['svcca:0.99', 'svcca-r2:0.5']).other).toEqual(['svcca-r2:0.5']);
    expect(measureSpecsOf({ ...draft, svccaKeep: '1' }).problems).toEqual([
      'the SVCCA variance kept must be a number between 0 and 1 (e.g. 0.99)',
    ]);
    const seeds = { ...pairDraft(), kind: 'seeds' as const, measures: draft };
    seeds.options = { ...seeds.options, bootstrapSamples: '50' };
    const built = buildSpec(seeds, {});
    expect(built.ok).toBe(false);
    if (!built.ok) expect(built.problems.join(' ')).toMatch(/CKA measures only, not for cca, cca-r2, svcca:0\.99/);
  });

  it('suggests names from the models', () => {
    const draft = pairDraft();
    expect(suggestedName(draft)).toBe('plain-d1-s0 vs deeper');
    expect(suggestedName({ ...draft, kind: 'self' })).toBe('plain-d1-s0 with itself');
    expect(suggestedName({ kind: 'seeds', models: draft.models })).toBe('seeds: 2 models (plain-d1-s0, …)');
  });
});

describe('presets in the form', () => {
  it('round-trip: the form rebuilds each preset’s spec (labels, layers, measures, probe)', async () => {
    const presets = await listPresets(join(repoRoot, 'models'));
    expect(presets.map((p) => p.id)).toEqual(['seeds-sanity', 'seeds-baselines', 'depth-family', 'vit-vs-cnn']);
    for (const preset of presets) {
      const { draft, selections } = draftFromSpec(preset.spec);
      const built = buildSpec(draft, selections);
      expect(built.ok).toBe(true);
      if (!built.ok) continue;
      // The form does not carry sha256 pins: the API pins models to their file when it creates the experiment.
      const unpinned = { ...preset.spec, models: preset.spec.models.map(({ sha256: _pin, ...m }) => m) };
      expect(built.spec).toEqual(unpinned);
    }
  });
});
