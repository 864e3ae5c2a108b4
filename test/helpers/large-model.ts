/**
 * A valid ONNX model of any size up to 2 GiB, written in milliseconds: y = x + w with w a float32
 * initializer of `weightBytes` zeros. The graph is encoded with the schema; the initializer is
 * appended as a second `graph` field (protobuf merges it into the first, as onnx/surgery.ts relies
 * on), its raw_data last, so the file ends with the zeros — made by extending the file (a sparse
 * file: no disk space used, and reads come from memory).
 */
import { create, toBinary } from '@bufbuild/protobuf';
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { closeSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { ModelProtoDesc, TensorProtoDesc } from '../../app/engine/onnx/schema.js';

const FLOAT = 1;

function valueInfo(name: string, n: number) {
  return {
    name,
    type: {
      value: {
        case: 'tensorType',
        value: {
          elemType: FLOAT,
          shape: {
            dim: [{ value: { case: 'dimValue', value: 1n } }, { value: { case: 'dimValue', value: BigInt(n) } }],
          },
        },
      },
    },
  };
}

/** Writes the model to `path`; returns its size in bytes and the number of weights. */
export function writeLargeModel(path: string, weightBytes: number): { bytes: number; weights: number } {
  const n = Math.floor(weightBytes / 4);
  const graph = create(ModelProtoDesc, {
    irVersion: 8n,
    producerName: 'ckawb-large-model',
    opsetImport: [{ domain: '', version: 13n }],
    graph: {
      name: 'large',
      node: [{ name: 'add', opType: 'Add', input: ['x', 'w'], output: ['y'] }],
      input: [valueInfo('x', n)],
      output: [valueInfo('y', n)],
    },
  } as never);
  const tensorHead = new BinaryWriter()
    .raw(toBinary(TensorProtoDesc, create(TensorProtoDesc, { name: 'w', dims: [BigInt(n)], dataType: FLOAT } as never)))
    .tag(9, WireType.LengthDelimited)
    .uint32(n * 4)
    .finish();
  const initializer = new BinaryWriter()
    .tag(5, WireType.LengthDelimited)
    .uint32(tensorHead.length + n * 4)
    .raw(tensorHead)
    .finish();
  const patch = new BinaryWriter()
    .tag(7, WireType.LengthDelimited)
    .uint32(initializer.length + n * 4)
    .raw(initializer)
    .finish();
  const head = Buffer.concat([toBinary(ModelProtoDesc, graph as never), patch]);
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, head);
    ftruncateSync(fd, head.length + n * 4);
  } finally {
    closeSync(fd);
  }
  return { bytes: head.length + n * 4, weights: n };
}
