/**
 * The shipped zoo is what models/zoo.json says it is: every file's sha256, the parameter counts
 * PyTorch reported at training time against what our ONNX reader counts, the probe files, and the
 * size budget of the committed models.
 */
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { inspectModelFile } from '../../app/engine/runner/inspect-model.js';
import { readNpyHeader } from '../../app/engine/io/npy.js';
import { repoRoot } from '../helpers/paths.js';

interface Zoo {
  normalization: { scale: number; mean: number; std: number };
  probe: { images: string; labels: string; n: number; sha256: Record<string, string> };
  models: {
    name: string;
    file: string;
    sha256: string;
    parameters: number;
    convLayers: number;
    widths: number[];
    opset: number;
    testAccuracy: number;
  }[];
}

const modelsDir = join(repoRoot, 'models');
const zoo = JSON.parse(readFileSync(join(modelsDir, 'zoo.json'), 'utf8')) as Zoo;
const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

describe('models/zoo.json', () => {
  it.each(zoo.models.map((m) => [m.name, m] as const))(
    '%s: the file, its parameters and ops match',
    async (_name, m) => {
      const path = join(modelsDir, m.file);
      expect(sha256(path)).toBe(m.sha256);
      const summary = await inspectModelFile(path);
      // PyTorch counted BatchNorm's scale and shift (2 per channel); the export folds BatchNorm into
      // the preceding conv, which gains one bias per channel instead.
      const bnChannels = (m.convLayers / m.widths.length) * m.widths.reduce((a, b) => a + b, 0);
      expect(summary.parameters).toBe(m.parameters - bnChannels);
      expect(summary.opset).toBe(m.opset);
      expect(summary.opset).toBeGreaterThanOrEqual(13);
      expect(summary.inputs).toEqual([{ name: 'input', dtype: 'float32', shape: ['batch', 1, 28, 28] }]);
      expect(summary.layers.filter((l) => l.op === 'Conv')).toHaveLength(m.convLayers);
    },
  );

  it('lists the five seeds and the four depths, with the base net ≥ 88% accurate', () => {
    const names = zoo.models.map((m) => m.name).sort();
    expect(names).toEqual([
      'plain-d1-s0',
      'plain-d1-s1',
      'plain-d1-s2',
      'plain-d1-s3',
      'plain-d1-s4',
      'plain-d2-s0',
      'plain-d4-s0',
      'plain-d8-s0',
    ]);
    for (const m of zoo.models.filter((m) => m.name.startsWith('plain-d1-')))
      expect(m.testAccuracy).toBeGreaterThanOrEqual(0.88);
  });

  it('ships the probe it describes, and stays within the 25 MB budget', async () => {
    for (const [file, hash] of Object.entries(zoo.probe.sha256)) expect(sha256(join(modelsDir, file))).toBe(hash);
    const images = await readNpyHeader(join(modelsDir, zoo.probe.images));
    expect(images).toMatchObject({ dtype: 'uint8', shape: [zoo.probe.n, 28, 28] });
    const total = zoo.models.reduce((sum, m) => sum + statSync(join(modelsDir, m.file)).size, 0);
    expect(total).toBeLessThanOrEqual(25 * 1024 * 1024);
    expect(zoo.normalization.scale).toBeCloseTo(1 / 255, 12);
  });
});
