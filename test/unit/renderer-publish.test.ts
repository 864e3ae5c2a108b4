/**
 * The views' pure parts for publishing: a seeds result's mean, spread and ordered pairs with the
 * sanity check each states (the engine's accuracy, never recomputed from the mean), the probe
 * checks' verdict, the form's summary line, the figure style as options, and how runs read
 * (the later of two progress reports, reasons as sentences, "1 is chosen").
 */
import { describe, expect, it } from 'vitest';
import type { ProbeInfo, RunProgress } from '../../app/common/contract.js';
import { DEFAULT_FIGURE_STYLE, styleOptions } from '../../renderer/src/lib/figure-style.js';
import { fitKey, fitVerdict, shortReason, type FitCheck, type FitResult } from '../../renderer/src/lib/probe-fit.js';
import { laterProgress, sentence } from '../../renderer/src/lib/run-format.js';
import { orderedPairs, seedsView } from '../../renderer/src/lib/seeds-views.js';
import { buildSpec, emptyDraft } from '../../renderer/src/lib/spec-draft.js';
import { specSummary } from '../../renderer/src/lib/spec-summary.js';
import { numberedLayers, seedsResult } from '../e2e/harness/matrices.js';

describe('seeds views', () => {
  const result = seedsResult(3, numberedLayers(6, 'plain'));
  const summary = result.seeds![0]!;

  it('opens any ordered pair: the stored matrix, or the transpose of the other order', () => {
    expect(orderedPairs(3)).toHaveLength(6);
    for (const { rows, cols } of orderedPairs(3)) {
      const view = seedsView(result, summary, { kind: 'pair', rows, cols })!;
      const stored = result.matrices.find((m) => m.rows.model === rows && m.cols.model === cols)!;
      expect(Array.from(view.data.values)).toEqual(stored.matrix.flat());
      expect(view.data.rows.title).toBe(`model ${'ABC'[rows]}: plain-d8-s${rows}.onnx`);
      // The pair's sanity check is the table's number: its rows' best matches, counted here.
      const hits = stored.matrix.filter((row, r) => row.indexOf(Math.max(...(row as number[]))) === r).length;
      expect(view.sanity!.fraction).toBe(hits / 6);
    }
    const withoutOneOrder = {
      ...result,
      matrices: result.matrices.filter((m) => !(m.rows.model === 2 && m.cols.model === 0)),
    };
    const transposed = seedsView(withoutOneOrder, summary, { kind: 'pair', rows: 2, cols: 0 })!;
    const other = result.matrices.find((m) => m.rows.model === 0 && m.cols.model === 2)!;
    expect(transposed.data.values[1 * 6 + 4]).toBe(other.matrix[4]![1]);
  });

  it('states the headline’s accuracy on the mean, and none on the spread', () => {
    const mean = seedsView(result, summary, { kind: 'mean' })!;
    expect(mean.sanity!.fraction).toBe(summary.accuracy);
    expect(mean.sanity!.over).toContain('all 6 ordered pairs');
    expect(seedsView(result, summary, { kind: 'std' })!.sanity).toBeNull();
    expect(seedsView({ ...result, matrices: [] }, summary, { kind: 'pair', rows: 0, cols: 1 })).toBeNull();
  });
});

describe('probe checks', () => {
  const checks: FitCheck[] = [
    { model: '/m/a.onnx', label: 'A · a', probe: 'fashion-mnist:100' },
    { model: '/m/b.onnx', label: 'B · b', probe: 'fashion-mnist:100' },
  ];
  const info = { n: 100, exampleShape: [1, 28, 28] } as ProbeInfo;

  it('lets a form run only when every model fits', () => {
    const results = new Map<string, FitResult>();
    expect(fitVerdict([], results)).toBe('incomplete');
    expect(fitVerdict([{ ...checks[0]!, probe: null }], results)).toBe('incomplete');
    expect(fitVerdict(checks, results)).toBe('checking');
    results.set(fitKey(checks[0]!), { state: 'fits', info });
    expect(fitVerdict(checks, results)).toBe('checking');
    results.set(fitKey(checks[1]!), { state: 'misfit', reason: 'no' });
    expect(fitVerdict(checks, results)).toBe('misfit');
    results.set(fitKey(checks[1]!), { state: 'fits', info });
    expect(fitVerdict(checks, results)).toBe('fits');
    // Another probe is another question.
    expect(fitVerdict([{ ...checks[0]!, probe: 'fashion-mnist:200' }], results)).toBe('checking');
  });

  it('drops what the list already says from the engine’s reason', () => {
    expect(shortReason('probe fashion-mnist:100 gives examples of shape [1, 28, 28], but …', checks[1]!)).toBe(
      'gives examples of shape [1, 28, 28], but …',
    );
    expect(shortReason('/m/b.onnx: not an ONNX model', checks[1]!)).toBe('not an ONNX model');
  });
});

describe('the form', () => {
  it('summarises everything the run will do, the bootstrap included', () => {
    const spec = {
      name: 'x',
      kind: 'pair' as const,
      models: [{ path: '/a.onnx' }, { path: '/b.onnx' }],
      probe: 'fashion-mnist:1000',
      layers: 'all',
      measures: ['linear', 'rbf:0.4'],
    };
    expect(specSummary(spec, 1000)).toEqual([
      '2 models',
      'linear, rbf:0.4',
      'fashion-mnist:1000 (1,000 examples)',
      'no bootstrap',
    ]);
    expect(
      specSummary(
        { ...spec, options: { bootstrap: { samples: 200, seed: 3, level: 0.9 }, batchSize: 64, threads: 1 } },
        null,
      ),
    ).toEqual([
      '2 models',
      'linear, rbf:0.4',
      'fashion-mnist:1000',
      'bootstrap: 200 samples, seed 3, 90% intervals',
      'batch 64',
      '1 thread',
    ]);
  });

  it('says "1 is chosen" and "2 are chosen"', () => {
    const draft = emptyDraft();
    draft.models = [{ path: '/a.onnx', label: '' }];
    const one = buildSpec(draft, {});
    expect(one.ok ? [] : one.problems).toContain(
      'a pair experiment takes two models: A (rows) and B (columns); 1 is chosen',
    );
  });
});

describe('figure style and runs', () => {
  it('sends only what differs from the default style', () => {
    expect(styleOptions({ ...DEFAULT_FIGURE_STYLE })).toEqual({});
    expect(
      styleOptions({ axisLabels: 'indices', origin: 'bottom', squareCells: false, fontSize: 14, width: 480 }),
    ).toEqual({ axisLabels: 'indices', origin: 'bottom', squareCells: false, fontSize: 14, width: 480 });
  });

  it('keeps the later of two progress reports, and writes reasons as sentences', () => {
    const at = (fraction: number): RunProgress => ({ runId: 'r', stage: 'extract', message: '', fraction });
    expect(laterProgress(at(0.21), at(0))!.fraction).toBe(0.21);
    expect(laterProgress(at(0.1), at(0.3))!.fraction).toBe(0.3);
    expect(laterProgress(undefined, at(0.3))!.fraction).toBe(0.3);
    expect(laterProgress(null, undefined)).toBeNull();
    expect(sentence('interrupted: the app was closed')).toBe('Interrupted: the app was closed.');
    expect(sentence('done.')).toBe('Done.');
  });
});
