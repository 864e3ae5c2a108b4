/**
 * The model reader thread: it hands back the file's facts (sha256 as an independent hash of the
 * bytes gives it) and the model's structure — every node, name, type, shape and external-data entry
 * as the full decode has them — without a single tensor value; its errors arrive typed.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeModel } from '../../app/engine/onnx/codec.js';
import { allTensors } from '../../app/engine/onnx/external-data.js';
import { ModelReader } from '../../app/engine/onnx/model-reader.js';
import type { OnnxModel } from '../../app/engine/onnx/types.js';
import { fixturesDir, tinyCnn } from '../helpers/paths.js';

const reader = new ModelReader();
afterAll(() => reader.close());

/** Everything but tensor values, in a comparable form. */
function shapeOf(model: OnnxModel) {
  const nodes = (m: OnnxModel) => m.graph!.node.map((n) => [n.name, n.opType, n.input, n.output, n.attribute.length]);
  const tensors = allTensors(model).map(({ tensor: t, where }) => [where, t.name, t.dims, t.dataType, t.externalData]);
  return { nodes: nodes(model), tensors, inputs: model.graph!.input.length, opsets: model.opsetImport.length };
}

describe('the model reader thread', () => {
  for (const file of [
    tinyCnn,
    join(fixturesDir, 'models', 'tiny_cnn_external.onnx'),
    join(fixturesDir, 'models', 'tiny_attention.onnx'),
  ]) {
    it(`reads ${file.split('/').pop()}: the facts and the structure without weights`, async () => {
      const bytes = readFileSync(file);
      const { facts, structure } = await reader.read(file);
      // The file's own digest, twice: loadModel (model-file.ts) makes `sha256` cover side files.
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      expect(facts).toEqual({
        path: file,
        fileName: file.split('/').pop(),
        sizeBytes: bytes.length,
        sha256,
        fileSha256: sha256,
      });
      const full = decodeModel(bytes, file);
      const light = decodeModel(structure, file);
      expect(shapeOf(light)).toEqual(shapeOf(full));
      // No weights; small integer tensors (shapes, axes: what shape inference reads) keep their values.
      for (const { tensor } of allTensors(light)) {
        const values =
          tensor.rawData.length + tensor.floatData.length + tensor.int64Data.length + tensor.int32Data.length;
        const elements = tensor.dims.reduce((a, d) => a * Number(d), 1);
        const shapeLike = (tensor.dataType === 7 || tensor.dataType === 6) && elements <= 64;
        if (!shapeLike) expect(values).toBe(0);
      }
      expect(structure.length).toBeLessThanOrEqual(bytes.length);
    });
  }

  it('sends errors back typed, naming the file, and goes on reading', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ckawb-reader-'));
    const text = join(dir, 'notes.onnx');
    writeFileSync(text, 'not a model at all\n');
    await expect(reader.read(text)).rejects.toMatchObject({
      code: 'BAD_MODEL',
      message: expect.stringContaining(text),
    });
    await expect(reader.read(join(dir, 'missing.onnx'))).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await reader.read(tinyCnn)).facts.fileName).toBe('tiny_cnn.onnx');
  });
});
