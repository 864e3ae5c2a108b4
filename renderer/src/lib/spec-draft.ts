/**
 * The experiment builder's form as plain data, and the two conversions around it: a draft → the
 * `ExperimentSpec` the engine takes (with the problems that stop it, in words), and a spec → a
 * draft (presets and "edit as new" fill the form this way). Pure, so it is tested without a page.
 */
import type { ExperimentKind, ExperimentSpec, ModelRef, ReduceSpec } from '@common/contract.js';

export type ProbeSource = 'fashion-mnist' | 'file' | 'folder' | 'text' | 'spec';

export interface DraftModel {
  path: string;
  /** What views call the model; empty: the file name. */
  label: string;
  /** The model's own view of the examples (its size, layout or tokenizer); null: the experiment's probe. */
  probe?: Draft['probe'] | null;
  /** Text probes: the model's tokenizer.json; empty: the one beside the model. */
  tokenizer?: string;
  /** Kept as a loaded spec had them (the form has no control for them). */
  maskInput?: string;
  reduce?: ReduceSpec;
}

export interface DraftMeasures {
  linear: boolean;
  rbf: boolean;
  /** RBF bandwidth as a fraction of the median distance (text as typed). */
  rbfThreshold: string;
  debiased: boolean;
  minibatch: boolean;
  /** Examples per minibatch (text as typed). */
  minibatchSize: string;
  /** The paper's baselines (Table 2) and Procrustes. */
  cca: boolean;
  ccaR2: boolean;
  svcca: boolean;
  svccaR2: boolean;
  /** SVCCA's fraction of variance kept, for both SVCCA measures (text as typed). */
  svccaKeep: string;
  pwcca: boolean;
  linreg: boolean;
  procrustes: boolean;
  /** Measures the form has no control for (kept as written, e.g. `debiased-rbf:0.5`). */
  other: string[];
  /** The order a loaded spec listed its measures in (kept, so its tabs come back in that order). */
  order?: string[];
}

export interface DraftOptions {
  /** Each field as typed; empty means "the engine's default". */
  batchSize: string;
  bootstrapSamples: string;
  bootstrapSeed: string;
  threads: string;
}

export interface Draft {
  name: string;
  kind: ExperimentKind;
  models: DraftModel[];
  probe: {
    source: ProbeSource;
    /** fashion-mnist: examples (text as typed). */
    n: string;
    /** file: an .npy or .npz path; folder: a folder of images. */
    path: string;
    /** .npz: the array to read (optional when the archive holds one). */
    key: string;
    /** source `spec`: a probe spec as written (opened probe sets, presets' other probes). */
    spec: string;
  };
  measures: DraftMeasures;
  /** How layers become rows: one reduction for all, or a loaded spec's per-layer choice kept as it is. */
  reduce: ReduceSpec;
  options: DraftOptions;
}

export const KIND_MODELS: Record<ExperimentKind, { min: number; max: number; text: string }> = {
  pair: { min: 2, max: 2, text: 'two models: A (rows) and B (columns)' },
  self: { min: 1, max: 1, text: 'one model, compared with itself' },
  seeds: { min: 2, max: 64, text: 'two or more trainings of one architecture' },
  family: { min: 1, max: 64, text: 'one or more architectures: each against itself and the others' },
};

export function emptyDraft(): Draft {
  return {
    name: '',
    kind: 'pair',
    models: [],
    probe: { source: 'fashion-mnist', n: '500', path: '', key: '', spec: '' },
    measures: {
      linear: true,
      rbf: false,
      rbfThreshold: '0.4',
      debiased: false,
      minibatch: false,
      minibatchSize: '256',
      cca: false,
      ccaR2: false,
      svcca: false,
      svccaR2: false,
      svccaKeep: '0.99',
      pwcca: false,
      linreg: false,
      procrustes: false,
      other: [],
    },
    reduce: 'flatten',
    options: { batchSize: '', bootstrapSamples: '', bootstrapSeed: '0', threads: '' },
  };
}

/** "plain-d1-s0.onnx" → "plain-d1-s0". */
export function modelStem(path: string): string {
  const file = path.split(/[\\/]/).pop() ?? path;
  return file.replace(/\.onnx$/i, '');
}

/** The name a draft gets until someone types one: "plain-d1-s0 vs plain-d2-s0", "seeds: 5 models". */
export function suggestedName(draft: Pick<Draft, 'kind' | 'models'>): string {
  const names = draft.models.map((m) => m.label.trim() || modelStem(m.path));
  if (names.length === 0) return '';
  switch (draft.kind) {
    case 'pair':
      return names.length >= 2 ? `${names[0]} vs ${names[1]}` : names[0]!;
    case 'self':
      return `${names[0]} with itself`;
    case 'seeds':
      return `seeds: ${names.length} models (${names[0]}, …)`;
    case 'family':
      return names.length <= 3 ? `family: ${names.join(', ')}` : `family: ${names.length} models`;
  }
}

/** The probe spec of a draft, or a problem. */
export function probeSpecOf(probe: Draft['probe']): { spec: string } | { problem: string } {
  switch (probe.source) {
    case 'fashion-mnist': {
      const n = probe.n.trim();
      if (!/^\d+$/.test(n) || Number(n) < 4) return { problem: 'Fashion-MNIST needs a whole number of examples ≥ 4' };
      return { spec: `fashion-mnist:${Number(n)}` };
    }
    case 'file': {
      const path = probe.path.trim();
      if (!path) return { problem: 'give the path of an .npy or .npz file' };
      if (/\.npz$/i.test(path)) return { spec: `npz:${path}${probe.key.trim() ? `:${probe.key.trim()}` : ''}` };
      if (/\.npy$/i.test(path)) return { spec: `npy:${path}` };
      return { problem: `${path}: a probe file is an .npy or .npz array` };
    }
    case 'folder': {
      const path = probe.path.trim();
      return path ? { spec: `images:${path}` } : { problem: 'give the path of a folder of PNG/JPEG images' };
    }
    case 'text': {
      const path = probe.path.trim();
      if (!path) return { problem: 'give the path of a text file (.txt, one example per line, or .jsonl)' };
      return { spec: `text:${path}` };
    }
    case 'spec': {
      const spec = probe.spec.trim();
      return spec ? { spec } : { problem: 'choose a probe set' };
    }
  }
}

/** The probe part of a spec as form fields. */
export function probeDraftOf(spec: string): Draft['probe'] {
  const base = emptyDraft().probe;
  const fm = /^fashion-mnist:(\d+)$/.exec(spec);
  if (fm) return { ...base, source: 'fashion-mnist', n: fm[1]! };
  if (spec.startsWith('npy:')) return { ...base, source: 'file', path: spec.slice(4) };
  if (spec.startsWith('images:') && !spec.includes('?')) return { ...base, source: 'folder', path: spec.slice(7) };
  if (spec.startsWith('text:') && !spec.includes('?')) return { ...base, source: 'text', path: spec.slice(5) };
  return { ...base, source: 'spec', spec };
}

const positiveNumber = (text: string) => {
  const t = text.trim();
  const v = Number(t);
  return t !== '' && Number.isFinite(v) && v > 0 ? v : null;
};
const wholeNumber = (text: string, min: number) => {
  const t = text.trim();
  return /^\d+$/.test(t) && Number(t) >= min ? Number(t) : null;
};

export function measureSpecsOf(measures: DraftMeasures): { specs: string[]; problems: string[] } {
  const specs: string[] = [];
  const problems: string[] = [];
  if (measures.linear) specs.push('linear');
  if (measures.rbf) {
    const t = positiveNumber(measures.rbfThreshold);
    if (t === null) problems.push('the RBF threshold must be a positive number (e.g. 0.4)');
    else specs.push(`rbf:${t}`);
  }
  if (measures.debiased) specs.push('debiased');
  if (measures.minibatch) {
    const b = wholeNumber(measures.minibatchSize, 4);
    if (b === null) problems.push('the minibatch size must be a whole number ≥ 4');
    else specs.push(`minibatch:${b}`);
  }
  if (measures.cca) specs.push('cca');
  if (measures.ccaR2) specs.push('cca-r2');
  if (measures.svcca || measures.svccaR2) {
    const keep = positiveNumber(measures.svccaKeep);
    if (keep === null || keep >= 1)
      problems.push('the SVCCA variance kept must be a number between 0 and 1 (e.g. 0.99)');
    else {
      if (measures.svcca) specs.push(`svcca:${keep}`);
      if (measures.svccaR2) specs.push(`svcca-r2:${keep}`);
    }
  }
  if (measures.pwcca) specs.push('pwcca');
  if (measures.linreg) specs.push('linreg');
  if (measures.procrustes) specs.push('procrustes');
  for (const other of measures.other) if (!specs.includes(other)) specs.push(other);
  if (specs.length === 0 && problems.length === 0) problems.push('choose at least one measure');
  const order = measures.order ?? [];
  const rank = (spec: string) => (order.includes(spec) ? order.indexOf(spec) : order.length);
  // A stable sort: measures the loaded spec did not have keep the form's order, after the others.
  return {
    specs: specs
      .map((spec, i) => ({ spec, i }))
      .sort((a, b) => rank(a.spec) - rank(b.spec) || a.i - b.i)
      .map((x) => x.spec),
    problems,
  };
}

const SIMPLE_BASELINES: Record<string, 'cca' | 'ccaR2' | 'pwcca' | 'linreg' | 'procrustes'> = {
  cca: 'cca',
  'cca-r2': 'ccaR2',
  pwcca: 'pwcca',
  linreg: 'linreg',
  procrustes: 'procrustes',
};

/** The measures computed from each layer's SVD rather than a kernel: no bootstrap intervals for them. */
export const BASELINE_NAMES = new Set(['cca', 'cca-r2', 'svcca', 'svcca-r2', 'pwcca', 'linreg', 'procrustes']);

export function measuresDraftOf(specs: readonly string[]): DraftMeasures {
  const draft: DraftMeasures = { ...emptyDraft().measures, linear: false, other: [], order: [...specs] };
  for (const spec of specs) {
    const [name, arg, extra] = spec.split(':');
    if (name === 'linear' && arg === undefined) draft.linear = true;
    else if (name === 'debiased' && arg === undefined) draft.debiased = true;
    else if (name === 'rbf' && arg !== undefined && !draft.rbf) {
      draft.rbf = true;
      draft.rbfThreshold = arg;
    } else if (name === 'minibatch' && arg !== undefined && extra === undefined && !draft.minibatch) {
      draft.minibatch = true;
      draft.minibatchSize = arg;
    } else if (arg === undefined && name !== undefined && Object.hasOwn(SIMPLE_BASELINES, name)) {
      draft[SIMPLE_BASELINES[name]!] = true;
    } else if (
      (name === 'svcca' || name === 'svcca-r2') &&
      arg !== undefined &&
      extra === undefined &&
      (!(draft.svcca || draft.svccaR2) || draft.svccaKeep === arg) &&
      !draft[name === 'svcca' ? 'svcca' : 'svccaR2']
    ) {
      draft[name === 'svcca' ? 'svcca' : 'svccaR2'] = true;
      draft.svccaKeep = arg;
    } else draft.other.push(spec);
  }
  return draft;
}

function optionsOf(options: DraftOptions): { value: ExperimentSpec['options']; problems: string[] } {
  const problems: string[] = [];
  const value: NonNullable<ExperimentSpec['options']> = {};
  if (options.batchSize.trim()) {
    const b = wholeNumber(options.batchSize, 1);
    if (b === null) problems.push('the batch size must be a whole number ≥ 1');
    else value.batchSize = b;
  }
  if (options.bootstrapSamples.trim()) {
    const samples = wholeNumber(options.bootstrapSamples, 2);
    const seed = wholeNumber(options.bootstrapSeed || '0', 0);
    if (samples === null) problems.push('bootstrap samples must be a whole number ≥ 2 (or empty for none)');
    else if (seed === null) problems.push('the bootstrap seed must be a whole number ≥ 0');
    else value.bootstrap = { samples, seed };
  }
  if (options.threads.trim()) {
    const t = wholeNumber(options.threads, 1);
    if (t === null || t > 256) problems.push('threads must be a whole number from 1 to 256');
    else value.threads = t;
  }
  return { value: Object.keys(value).length > 0 ? value : undefined, problems };
}

function optionsDraftOf(options: ExperimentSpec['options']): DraftOptions {
  return {
    batchSize: options?.batchSize !== undefined ? String(options.batchSize) : '',
    bootstrapSamples: options?.bootstrap ? String(options.bootstrap.samples) : '',
    bootstrapSeed: options?.bootstrap ? String(options.bootstrap.seed) : '0',
    threads: options?.threads !== undefined ? String(options.threads) : '',
  };
}

export type BuildResult = { ok: true; spec: ExperimentSpec } | { ok: false; problems: string[] };

/**
 * The spec a draft stands for. `selections` holds each model's layer selection by path (the layer
 * table's choice; `all` when there is none). Problems are sentences for the form, in its order.
 */
export function buildSpec(draft: Draft, selections: Readonly<Record<string, string>>): BuildResult {
  const problems: string[] = [];
  const count = KIND_MODELS[draft.kind];
  const n = draft.models.length;
  if (n < count.min || n > count.max) {
    problems.push(
      `a ${draft.kind} experiment takes ${count.text}; ${n === 0 ? 'none is' : n === 1 ? '1 is' : `${n} are`} chosen`,
    );
  }
  const layers = draft.models.map((m) => (selections[m.path] ?? 'all').trim());
  draft.models.forEach((m, i) => {
    if (layers[i] === '') problems.push(`${m.label.trim() || modelStem(m.path)}: choose at least one layer`);
  });
  const probe = probeSpecOf(draft.probe);
  if ('problem' in probe) problems.push(`probe: ${probe.problem}`);
  const ownProbes = draft.models.map((m) => (m.probe ? probeSpecOf(m.probe) : null));
  ownProbes.forEach((own, i) => {
    if (own && 'problem' in own) {
      problems.push(`${draft.models[i]!.label.trim() || modelStem(draft.models[i]!.path)}'s own probe: ${own.problem}`);
    }
  });
  const measures = measureSpecsOf(draft.measures);
  problems.push(...measures.problems);
  const options = optionsOf(draft.options);
  problems.push(...options.problems);
  const baselines = measures.specs.filter((m) => BASELINE_NAMES.has(m.split(':')[0]!));
  if (options.value?.bootstrap && baselines.length > 0) {
    problems.push(
      `bootstrap intervals are computed for CKA measures only, not for ${baselines.join(', ')}: clear the bootstrap samples or untick them`,
    );
  }
  const name = draft.name.trim() || suggestedName(draft);
  if (!name) problems.push('give the experiment a name');
  if (problems.length > 0 || 'problem' in probe) return { ok: false, problems };

  const models = draft.models.map((m, i) => {
    const ref: ModelRef = { path: m.path };
    if (m.label.trim()) ref.label = m.label.trim();
    const own = ownProbes[i];
    if (own && 'spec' in own) ref.probe = own.spec;
    if (m.tokenizer?.trim()) ref.tokenizer = m.tokenizer.trim();
    if (m.maskInput) ref.maskInput = m.maskInput;
    if (m.reduce !== undefined) ref.reduce = m.reduce;
    return ref;
  });
  const spec: ExperimentSpec = {
    name,
    kind: draft.kind,
    models,
    probe: probe.spec,
    // One selection for all when they agree: the spec reads as people write it.
    layers: layers.every((l) => l === layers[0]) ? layers[0]! : layers,
    measures: measures.specs,
  };
  if (draft.reduce !== 'flatten') spec.reduce = draft.reduce;
  if (options.value) spec.options = options.value;
  return { ok: true, spec };
}

/** A spec as a draft, and the layer selection it gives each model (by path). */
export function draftFromSpec(spec: ExperimentSpec): { draft: Draft; selections: Record<string, string> } {
  const selections: Record<string, string> = {};
  spec.models.forEach((m, i) => {
    selections[m.path] = Array.isArray(spec.layers) ? (spec.layers[i] ?? 'all') : spec.layers;
  });
  return {
    draft: {
      name: spec.name,
      kind: spec.kind,
      models: spec.models.map((m) => ({
        path: m.path,
        label: m.label ?? '',
        probe: m.probe !== undefined ? probeDraftOf(m.probe) : null,
        tokenizer: m.tokenizer ?? '',
        ...(m.maskInput !== undefined ? { maskInput: m.maskInput } : {}),
        ...(m.reduce !== undefined ? { reduce: m.reduce } : {}),
      })),
      probe: probeDraftOf(spec.probe),
      measures: measuresDraftOf(spec.measures),
      reduce: spec.reduce ?? 'flatten',
      options: optionsDraftOf(spec.options),
    },
    selections,
  };
}
