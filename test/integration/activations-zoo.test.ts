/**
 * The shipped zoo through the built-in probe: if the normalisation or the layout were off, the
 * models' accuracy on their own test images would collapse.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ActivationEngine } from '../../app/engine/activations/engine.js';
import type { ActivationSink, LayerBatch } from '../../app/engine/activations/types.js';
import { readNpy } from '../../app/engine/io/npy.js';

const models = new URL('../../models/', import.meta.url).pathname;
const zooJson = join(models, 'zoo.json');
const model = join(models, 'zoo', 'plain-d1-s0.onnx');
describe('model zoo with fashion-mnist:N', () => {
  const engine = new ActivationEngine();
  afterAll(() => engine.close());

  it('preset:blocks gives the ReLUs, the pooled feature and the logits; the logits classify as zoo.json says', async () => {
    const zoo = JSON.parse(readFileSync(zooJson, 'utf8')) as {
      models: { name: string; testAccuracy: number; reluNodes: string[] }[];
      probe: { labels: string };
    };
    const entry = zoo.models.find((m) => m.name === 'plain-d1-s0')!;
    const n = 2000;
    const predicted = new Int32Array(n);
    const sink: ActivationSink = {
      write(batch: LayerBatch) {
        if (batch.tensor !== 'logits') return;
        for (let r = 0; r < batch.rows; r++) {
          const row = batch.data.subarray(r * 10, r * 10 + 10);
          predicted[batch.rowOffset + r] = row.indexOf(Math.max(...row));
        }
      },
    };
    const result = await engine.extract(
      { model, probe: `fashion-mnist:${n}`, layers: 'preset:blocks' },
      { sinks: [sink] },
    );
    expect(result.layers.map((l) => l.tensor)).toEqual([
      ...entry.reluNodes.map((node) => `${node}_output_0`),
      '/gap/GlobalAveragePool_output_0',
      'logits',
    ]);
    expect(result.layers.map((l) => l.shape)).toEqual([[16, 28, 28], [32, 14, 14], [64, 7, 7], [64, 1, 1], [10]]);
    const labels = (await readNpy(join(models, zoo.probe.labels))).data as Uint8Array;
    let correct = 0;
    for (let i = 0; i < n; i++) if (predicted[i] === labels[i]) correct++;
    // Measured on all 10k test images; the first 2000 agree within a few points.
    expect(correct / n).toBeGreaterThan(entry.testAccuracy - 0.04);
  });
});
