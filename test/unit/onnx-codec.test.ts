import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { decodeModel, encodeModel } from '../../app/engine/onnx/codec.js';

const fixtures = new URL('../fixtures/models/', import.meta.url).pathname;
const zoo = new URL('../../models/zoo/', import.meta.url).pathname;

function modelFiles(): string[] {
  const files = readdirSync(fixtures)
    .filter((f) => f.endsWith('.onnx'))
    .map((f) => join(fixtures, f));
  if (existsSync(zoo))
    files.push(
      ...readdirSync(zoo)
        .filter((f) => f.endsWith('.onnx'))
        .map((f) => join(zoo, f)),
    );
  return files;
}

describe('ONNX codec', () => {
  it.each(modelFiles())('round-trips %s byte for byte', (file) => {
    const bytes = readFileSync(file);
    const encoded = encodeModel(decodeModel(bytes, file));
    expect(Buffer.compare(Buffer.from(encoded), bytes)).toBe(0);
  });

  it('keeps fields from newer ONNX versions it does not know, at every level', () => {
    const bytes = readFileSync(join(fixtures, 'tiny_cnn.onnx'));
    const model = decodeModel(bytes, 'tiny');
    // NodeProto.metadata_props (9, IR 10) and ModelProto.configuration (26, IR 11) are not in our
    // schema: append them as a newer exporter would write them.
    const nodeExtra = new BinaryWriter()
      .tag(9, WireType.LengthDelimited)
      .bytes(
        new BinaryWriter()
          .tag(1, WireType.LengthDelimited)
          .string('k')
          .tag(2, WireType.LengthDelimited)
          .string('v')
          .finish(),
      )
      .finish();
    const node = model.graph!.node[0]! as unknown as {
      $unknown?: { no: number; wireType: number; data: Uint8Array }[];
    };
    node.$unknown = [{ no: 9, wireType: WireType.LengthDelimited, data: nodeExtra.subarray(1) }];
    const withNewFields = Buffer.concat([
      Buffer.from(encodeModel(model)),
      Buffer.from(
        new BinaryWriter()
          .tag(26, WireType.LengthDelimited)
          .bytes(new Uint8Array([8, 1]))
          .finish(),
      ),
    ]);
    // Decoding and encoding again reproduces the newer file exactly.
    const again = encodeModel(decodeModel(withNewFields, 'newer'));
    expect(Buffer.compare(Buffer.from(again), withNewFields)).toBe(0);
    expect(withNewFields.length).toBeGreaterThan(bytes.length);
  });

  it('names the file and the problem for bytes that are not a model', () => {
    expect(() => decodeModel(new Uint8Array(), 'empty.onnx')).toThrow(
      'empty.onnx: not an ONNX model (the file is empty)',
    );
    expect(() => decodeModel(new TextEncoder().encode('#!/bin/sh\necho hi\n'), 'script.onnx')).toThrow(
      /^script\.onnx: not a valid ONNX model/,
    );
    const bytes = readFileSync(join(fixtures, 'tiny_cnn.onnx'));
    for (const cut of [1, 10, 100, bytes.length - 7]) {
      expect(() => decodeModel(bytes.subarray(0, cut), 'cut.onnx')).toThrow(/^cut\.onnx: not a valid ONNX model/);
    }
  });
});
