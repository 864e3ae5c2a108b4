/**
 * The CCA-family measures and Procrustes against the independent float64 numpy reference of
 * test/fixtures/cca/make_cca_fixtures.py (two implementations there, cross-checked to 1e-10): every
 * case (demo, tall, wide p > n, dead units, rank deficiency, 3×3 layers, ReLU, non-finite), every
 * measure, both directions, the undefined cells' reasons, and the per-layer intermediates (live
 * columns, rank, SVCCA's k). Then `compare DIR_A DIR_B --measure … --json OUT` end to end.
 */
import { execFile } from 'node:child_process';
import { promises as fs, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { svccaComponents } from '../../app/engine/cka/layer-factors.js';
import {
  CkaEngine,
  parseMeasure,
  type CkaResult,
  type LayerSource,
  type UndefinedCell,
} from '../../app/engine/similarity/index.js';
import { cliBin, fixturesDir } from '../helpers/paths.js';

const dir = join(fixturesDir, 'cca');

interface MeasureExpectation {
  xy: (number | null)[][];
  yx: (number | null)[][];
  reasonXY: (string | null)[][];
  reasonYX: (string | null)[][];
}
interface LayerExpectation {
  finite: boolean;
  kept?: number;
  rank?: number;
  svcca?: Record<string, { k: number }>;
}
interface Case {
  n: number;
  rows: string[];
  cols: string[];
  layers: Record<string, LayerExpectation>;
  measures: Record<string, MeasureExpectation>;
}
const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Record<string, Case> & {
  demo: Case & { notebookPrinted: Record<string, number> };
};
const CASES = ['demo', 'tall', 'wide', 'dead', 'rankdef', 'multi', 'relu', 'nonfinite'];
const MEASURES = Object.keys(expected.demo.measures);
/** The reference's values are float64 numpy; ours agree to ~3e-12 (measured), asserted at 1e-9. */
const TOLERANCE = 1e-9;

const npy = (name: string): LayerSource => ({
  kind: 'npy',
  layer: { tensor: name, name },
  path: join(dir, `${name}.npy`),
});

/** `code: detail` — the code, the side and the layer must agree with the reference's reason. */
function expectSameReason(actual: string | undefined, reference: string, where: string) {
  expect(actual, where).toBeDefined();
  const [code] = reference.split(':');
  expect(actual!.split(':')[0], where).toBe(code);
  const side = /: ([XY]) \(([^)\s]+)/.exec(reference);
  if (side) expect(actual, where).toContain(`${side[1]} (layer '${side[2]!.replace(/ top-\d+ PCs$/, '')}'`);
}

function expectMatches(
  result: Pick<CkaResult, 'matrix' | 'undefined'>,
  values: (number | null)[][],
  reasons: (string | null)[][],
  where: string,
) {
  const reasonAt = new Map(result.undefined.map((u: UndefinedCell) => [`${u.row},${u.col}`, u.reason]));
  values.forEach((row, i) =>
    row.forEach((value, j) => {
      const got = result.matrix[i]![j]!;
      const at = `${where} [${i}][${j}]`;
      if (value === null) {
        expect(got, at).toBeNull();
        expectSameReason(reasonAt.get(`${i},${j}`), reasons[i]![j]!, at);
      } else {
        expect(got, at).not.toBeNull();
        expect(Math.abs(got - value), at).toBeLessThanOrEqual(TOLERANCE);
        expect(reasonAt.has(`${i},${j}`), at).toBe(false);
      }
    }),
  );
}

describe('CCA family against the float64 numpy reference', () => {
  const engine = new CkaEngine({ threads: 2 });
  afterAll(() => engine.close());
  const measures = MEASURES.map(parseMeasure);

  it.each(CASES)('%s: every measure, X = rows and X = columns', async (name) => {
    const c = expected[name]!;
    const forward = await engine.compare(c.rows.map(npy), c.cols.map(npy), measures);
    const reverse = await engine.compare(c.cols.map(npy), c.rows.map(npy), measures);
    MEASURES.forEach((m, k) => {
      const e = c.measures[m]!;
      expectMatches(forward[k]!, e.xy, e.reasonXY, `${name} ${m} X→Y`);
      // reverse[k].matrix[j][i] = m(X = cols[j], Y = rows[i]) = yx[i][j]
      const transpose = <T>(g: T[][]) => g[0]!.map((_, j) => g.map((row) => row[j]!));
      expectMatches(reverse[k]!, transpose(e.yx), transpose(e.reasonYX), `${name} ${m} Y→X`);
      expect(forward[k]!.form).toBe('factors');
    });
  });

  it("gives the demo's centred values, and each layer's live columns, rank and SVCCA components", async () => {
    const demo = expected.demo;
    const [cca, r2] = await engine.compare([npy('demo_x')], [npy('demo_y')], [{ name: 'cca' }, { name: 'cca-r2' }]);
    expect(cca!.matrix[0]![0]!.toFixed(5)).toBe(demo.notebookPrinted.centredCcaMean!.toFixed(5));
    expect(r2!.matrix[0]![0]!.toFixed(5)).toBe(demo.notebookPrinted.centredCcaR2!.toFixed(5));
    for (const name of CASES) {
      const c = expected[name]!;
      const names = [...c.rows, ...c.cols];
      const factors = await engine.computeFactors(names.map(npy));
      factors.forEach((f, i) => {
        const layer = c.layers[names[i]!]!;
        if (!layer.finite) {
          expect(f.nonFinite, names[i]).not.toBeNull();
          return;
        }
        expect(f.live, names[i]).toBe(layer.kept);
        expect(f.rank, names[i]).toBe(layer.rank);
        for (const [keep, { k }] of Object.entries(layer.svcca ?? {})) {
          expect(svccaComponents(f.sigma, Number(keep)), `${names[i]} svcca:${keep}`).toBe(k);
        }
      });
    }
  });

  it('computes the other direction of asymmetric measures in one pass (mirror), and refuses bootstrap', async () => {
    const c = expected.multi!;
    const rows = await engine.computeFactors(c.rows.map(npy));
    const cols = await engine.computeFactors(c.cols.map(npy));
    const [pwcca, linreg, procrustes] = await engine.compareFactors(
      rows,
      cols,
      [{ name: 'pwcca' }, { name: 'linreg' }, { name: 'procrustes' }],
      { mirror: true },
    );
    const transpose = <T>(g: T[][]) => g[0]!.map((_, j) => g.map((row) => row[j]!));
    for (const [result, m] of [
      [pwcca!, 'pwcca'],
      [linreg!, 'linreg'],
    ] as const) {
      const e = c.measures[m]!;
      expectMatches(result, e.xy, e.reasonXY, `${m} X→Y`);
      expectMatches(result.mirror!, transpose(e.yx), transpose(e.reasonYX), `${m} mirror`);
    }
    expect(procrustes!.mirror).toBeUndefined(); // symmetric: the transpose is the other direction
    await expect(
      engine.compare([npy('demo_x')], [npy('demo_y')], [{ name: 'linear' }, { name: 'cca' }], {
        bootstrap: { samples: 10, seed: 1 },
      }),
    ).rejects.toMatchObject({ code: 'UNSUPPORTED', message: expect.stringMatching(/CKA measures only, not for cca/) });
  });

  it('parses the measures as the CLI and specs write them', () => {
    expect(parseMeasure('svcca:0.99')).toEqual({ name: 'svcca', keep: 0.99 });
    expect(parseMeasure('svcca-r2:0.5')).toEqual({ name: 'svcca-r2', keep: 0.5 });
    expect(parseMeasure('pwcca')).toEqual({ name: 'pwcca' });
    for (const bad of ['svcca', 'svcca:1', 'svcca:0', 'svcca:x', 'cca:3', 'procrustes:1', 'svcca:0.9:1']) {
      expect(() => parseMeasure(bad), bad).toThrow(/measure/);
    }
  });
});

describe('cka-workbench compare with the baselines', () => {
  it('writes one document per measure, svcca with params.keep, nulls with reasons, values as the reference', async () => {
    const root = mkdtempSync(join(tmpdir(), 'cca-cli-'));
    const c = expected.multi!;
    for (const [side, layers] of [
      ['a', c.rows],
      ['b', c.cols],
    ] as const) {
      await fs.mkdir(join(root, side));
      for (const l of layers) await fs.copyFile(join(dir, `${l}.npy`), join(root, side, `${l}.npy`));
    }
    const out = join(root, 'out.json');
    const measures = ['cca', 'cca-r2', 'svcca:0.99', 'pwcca', 'linreg', 'procrustes'];
    await promisify(execFile)(process.execPath, [
      cliBin,
      'compare',
      join(root, 'a'),
      join(root, 'b'),
      ...measures.flatMap((m) => ['--measure', m]),
      '--json',
      out,
    ]);
    const docs = JSON.parse(await fs.readFile(out, 'utf8')) as (CkaResult & { rows: { layers: { name: string }[] } })[];
    expect(docs.map((d) => d.measure)).toEqual([
      { name: 'cca', params: {} },
      { name: 'cca-r2', params: {} },
      { name: 'svcca', params: { keep: 0.99 } },
      { name: 'pwcca', params: {} },
      { name: 'linreg', params: {} },
      { name: 'procrustes', params: {} },
    ]);
    docs.forEach((doc, k) => {
      expect(doc.rows.layers.map((l) => l.name)).toEqual(c.rows);
      const e = c.measures[measures[k]!]!;
      expectMatches(doc, e.xy, e.reasonXY, measures[k]!);
    });
    expect(docs[0]!.matrix[0]![2]).toBeNull(); // multi_b2 has p = 240 ≥ n = 200
  });
});
