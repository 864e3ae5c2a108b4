/**
 * A run's progress and ETA, driven by a synthetic clock: the plan of a real 5-seed experiment, its
 * tasks played with the durations such a run has on a laptop (an extraction seconds, a pair of small
 * layers a few hundred milliseconds whatever the plan's estimate), and at every report the ETA
 * against the time the simulated run really has left.
 */
import { describe, expect, it } from 'vitest';
import type { ExperimentSpec, RunProgress } from '../../app/common/contract.js';
import { planExperiment, type ExperimentPlan } from '../../app/engine/experiments/plan.js';
import type { PreparedModel } from '../../app/engine/experiments/prepare-models.js';
import { ProgressTracker, workTotals, type WorkKind } from '../../app/engine/experiments/progress.js';

const N = 500;
/** plain-d1's three ReLUs. */
const SHAPES = [
  [16, 28, 28],
  [32, 14, 14],
  [64, 7, 7],
];

function seedModel(index: number): PreparedModel {
  return {
    index,
    path: `/s${index}.onnx`,
    label: `s${index}`,
    sha256: String(index).repeat(64),
    fileSha256: String(index).repeat(64),
    selection: 'op:Relu',
    layers: SHAPES.map((shape, i) => ({
      tensor: `relu${i}`,
      name: `relu${i}`,
      op: 'Relu',
      dtype: 'float32',
      shape: ['batch', ...shape],
      reduction: 'flatten' as const,
      key: `relu${i}`,
      rows: N,
      features: shape.reduce((a, b) => a * b, 1),
    })),
    omitted: [],
    outputs: new Set(),
    probe: { spec: `fashion-mnist:${N}`, hash: 'h', n: N },
    probeSpec: `fashion-mnist:${N}`,
  };
}

const spec: ExperimentSpec = {
  name: 'sanity',
  kind: 'seeds',
  models: [0, 1, 2, 3, 4].map((i) => ({ path: `/s${i}.onnx` })),
  probe: `fashion-mnist:${N}`,
  layers: 'op:Relu',
  measures: ['linear'],
};

/** One task as the run meets it: run for `ms` (reporting 4 times), or found in the cache. */
interface Task {
  kind: WorkKind;
  units: number;
  ms: number;
  cached: boolean;
}

/** The run's tasks in its order (model by model: extraction, Grams, then the pairs it completes). */
function tasks(plan: ExperimentPlan, cached: { extract: boolean; grams: boolean; pairs: boolean }): Task[] {
  return plan.steps.flatMap((step, m) => [
    // The first extraction starts the model runner process.
    { kind: 'extract' as const, units: step.estimate.extract, ms: m === 0 ? 3000 : 1500, cached: cached.extract },
    { kind: 'grams' as const, units: step.estimate.grams, ms: 500, cached: cached.grams },
    ...(step.pairs.length > 0
      ? [
          {
            kind: 'pairs' as const,
            units: step.estimate.pairs.reduce((a, b) => a + b, 0),
            ms: 250 + 50 * step.pairs.length,
            cached: cached.pairs,
          },
        ]
      : []),
  ]);
}

/** Plays the tasks on a synthetic clock; returns each report with the seconds really left then. */
function play(plan: ExperimentPlan, list: Task[]): { progress: RunProgress; left: number }[] {
  let clock = 0;
  const seen: RunProgress[] = [];
  const at: number[] = [];
  const tracker = new ProgressTracker(
    'run',
    workTotals(plan.steps),
    (p) => (seen.push(p), at.push(clock)),
    0.02,
    () => clock,
  );
  const message = { stage: 'extract' as const, message: 'm' };
  for (const task of list) {
    if (task.cached) {
      tracker.skip(task.kind, task.units);
      continue;
    }
    // A new model each time, so every update is reported (the tracker throttles within one).
    tracker.start(task.kind, task.units, { ...message, model: String(clock) });
    for (let i = 1; i <= 4; i++) {
      clock += task.ms / 4;
      tracker.update(i / 4, { model: String(clock) });
    }
    tracker.finish();
  }
  const end = clock;
  return seen.map((progress, i) => ({ progress, left: (end - at[i]!) / 1000 }));
}

/** Every ETA given is within a factor of two of the time left, give or take a second. */
function expectHonest(reports: { progress: RunProgress; left: number }[]): void {
  const etas = reports.filter((r) => r.progress.etaSeconds !== undefined);
  expect(etas.length).toBeGreaterThan(reports.length / 2);
  for (const { progress, left } of etas) {
    expect(progress.etaSeconds!).toBeLessThanOrEqual(2 * left + 1);
    expect(progress.etaSeconds!).toBeGreaterThanOrEqual(left / 2 - 1);
  }
}

describe('progress', () => {
  const plan = planExperiment(spec, [0, 1, 2, 3, 4].map(seedModel));

  it('fills its share after prepare, credits cache hits at once and never goes back', () => {
    const seen: number[] = [];
    const totals = { extract: 6, grams: 0, factors: 0, pairs: 4 };
    const tracker = new ProgressTracker('run', totals, (p) => seen.push(p.fraction), 0.02);
    tracker.start('extract', 4, { stage: 'extract', message: 'x', model: 'a' });
    tracker.update(0.5);
    tracker.update(0.25); // a smaller report does not move it back
    tracker.finish();
    tracker.skip('extract', 2);
    tracker.start('pairs', 4, { stage: 'similarity', message: 'y' });
    tracker.finish();
    expect(seen[0]).toBeCloseTo(0.02, 12);
    expect(tracker.fraction()).toBeCloseTo(1, 12);
    expect(seen.every((f, i) => i === 0 || f >= seen[i - 1]!)).toBe(true);
  });

  it('a first run: the ETA stays within a factor of two of the time left', () => {
    expectHonest(play(plan, tasks(plan, { extract: false, grams: false, pairs: false })));
  });

  it('a rerun with a new measure (activations and Grams cached, pairs to compute) gives no absurd ETA', () => {
    // The run that printed "~35 min 35 s left" at 61% of a 3 s run: a pair of small layers is
    // estimated at a millisecond, and its speed was applied to the extraction units the cache skips.
    const reports = play(plan, tasks(plan, { extract: true, grams: true, pairs: false }));
    expectHonest(reports);
    const total = reports[0]!.left;
    expect(Math.max(...reports.map((r) => r.progress.etaSeconds ?? 0))).toBeLessThanOrEqual(2 * total);
  });

  it('one model added to a finished run: the cached models do not make the new one look instantaneous', () => {
    const list = tasks(plan, { extract: true, grams: true, pairs: true });
    for (const task of list.slice(-3)) task.cached = false;
    expectHonest(play(plan, list));
  });

  it('says nothing before half a second of work is timed', () => {
    let clock = 0;
    const seen: RunProgress[] = [];
    const tracker = new ProgressTracker(
      'run',
      workTotals(plan.steps),
      (p) => seen.push(p),
      0,
      () => clock,
    );
    tracker.start('extract', plan.steps[0]!.estimate.extract, { stage: 'extract', message: 'x', model: 'a' });
    clock = 400;
    tracker.update(0.5, { model: 'b' });
    expect(seen.map((p) => p.etaSeconds)).toEqual([undefined, undefined]);
    clock = 800;
    tracker.update(0.6, { model: 'c' });
    expect(seen[2]!.etaSeconds).toBeGreaterThan(0);
  });
});
