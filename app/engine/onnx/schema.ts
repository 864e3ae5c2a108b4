/**
 * The ONNX protobuf schema (onnx/onnx.proto, proto2), declared in code from the spec's field
 * numbers and turned into runtime descriptors for @bufbuild/protobuf.
 *
 * Why not a generated codec: @bufbuild/protobuf keeps fields it does not know and writes them back,
 * so a model produced by a newer ONNX version (new fields, new messages) round-trips untouched;
 * onnx-proto drops them. Fields are declared in field-number order, which is the order protobuf
 * writers use, so a decode + encode of a canonical file reproduces it byte for byte.
 * Enums are declared as int32 (the same varint on the wire) so unknown enum values survive too.
 */
import { createFileRegistry, fromJson, type DescMessage } from '@bufbuild/protobuf';
import {
  FileDescriptorProtoSchema,
  type DescriptorProtoJson,
  type FieldDescriptorProto_TypeJson,
} from '@bufbuild/protobuf/wkt';

type Scalar = 'int32' | 'int64' | 'uint64' | 'float' | 'double' | 'string' | 'bytes';
interface FieldSpec {
  name: string;
  number: number;
  /** A scalar type or the name of an ONNX message (resolved in package `onnx`). */
  type: Scalar | `.${string}`;
  repeated?: boolean;
  packed?: boolean;
  oneof?: number;
}

const SCALAR_TYPES: Record<Scalar, FieldDescriptorProto_TypeJson> = {
  int32: 'TYPE_INT32',
  int64: 'TYPE_INT64',
  uint64: 'TYPE_UINT64',
  float: 'TYPE_FLOAT',
  double: 'TYPE_DOUBLE',
  string: 'TYPE_STRING',
  bytes: 'TYPE_BYTES',
};

function message(
  name: string,
  fields: FieldSpec[],
  nested: DescriptorProtoJson[] = [],
  oneofs: string[] = [],
): DescriptorProtoJson {
  const sorted = [...fields].sort((a, b) => a.number - b.number);
  return {
    name,
    field: sorted.map((f) => ({
      name: f.name,
      number: f.number,
      label: f.repeated ? 'LABEL_REPEATED' : 'LABEL_OPTIONAL',
      type: f.type.startsWith('.') ? 'TYPE_MESSAGE' : SCALAR_TYPES[f.type as Scalar],
      ...(f.type.startsWith('.') ? { typeName: `.onnx${f.type}` } : {}),
      ...(f.packed ? { options: { packed: true } } : {}),
      ...(f.oneof !== undefined ? { oneofIndex: f.oneof } : {}),
    })),
    nestedType: nested,
    oneofDecl: oneofs.map((n) => ({ name: n })),
  };
}

const f = (name: string, number: number, type: FieldSpec['type'], extra: Partial<FieldSpec> = {}): FieldSpec => ({
  name,
  number,
  type,
  ...extra,
});
const r = (name: string, number: number, type: FieldSpec['type'], packed = false): FieldSpec => ({
  name,
  number,
  type,
  repeated: true,
  packed,
});

const ONNX_MESSAGES: DescriptorProtoJson[] = [
  message('AttributeProto', [
    f('name', 1, 'string'),
    f('f', 2, 'float'),
    f('i', 3, 'int64'),
    f('s', 4, 'bytes'),
    f('t', 5, '.TensorProto'),
    f('g', 6, '.GraphProto'),
    r('floats', 7, 'float'),
    r('ints', 8, 'int64'),
    r('strings', 9, 'bytes'),
    r('tensors', 10, '.TensorProto'),
    r('graphs', 11, '.GraphProto'),
    f('doc_string', 13, 'string'),
    f('tp', 14, '.TypeProto'),
    r('type_protos', 15, '.TypeProto'),
    f('type', 20, 'int32'),
    f('ref_attr_name', 21, 'string'),
    f('sparse_tensor', 22, '.SparseTensorProto'),
    r('sparse_tensors', 23, '.SparseTensorProto'),
  ]),
  message('ValueInfoProto', [f('name', 1, 'string'), f('type', 2, '.TypeProto'), f('doc_string', 3, 'string')]),
  message('NodeProto', [
    r('input', 1, 'string'),
    r('output', 2, 'string'),
    f('name', 3, 'string'),
    f('op_type', 4, 'string'),
    r('attribute', 5, '.AttributeProto'),
    f('doc_string', 6, 'string'),
    f('domain', 7, 'string'),
  ]),
  message('TrainingInfoProto', [
    f('initialization', 1, '.GraphProto'),
    f('algorithm', 2, '.GraphProto'),
    r('initialization_binding', 3, '.StringStringEntryProto'),
    r('update_binding', 4, '.StringStringEntryProto'),
  ]),
  message('ModelProto', [
    f('ir_version', 1, 'int64'),
    f('producer_name', 2, 'string'),
    f('producer_version', 3, 'string'),
    f('domain', 4, 'string'),
    f('model_version', 5, 'int64'),
    f('doc_string', 6, 'string'),
    f('graph', 7, '.GraphProto'),
    r('opset_import', 8, '.OperatorSetIdProto'),
    r('metadata_props', 14, '.StringStringEntryProto'),
    r('training_info', 20, '.TrainingInfoProto'),
    r('functions', 25, '.FunctionProto'),
  ]),
  message('StringStringEntryProto', [f('key', 1, 'string'), f('value', 2, 'string')]),
  message('TensorAnnotation', [
    f('tensor_name', 1, 'string'),
    r('quant_parameter_tensor_names', 2, '.StringStringEntryProto'),
  ]),
  message('GraphProto', [
    r('node', 1, '.NodeProto'),
    f('name', 2, 'string'),
    r('initializer', 5, '.TensorProto'),
    f('doc_string', 10, 'string'),
    r('input', 11, '.ValueInfoProto'),
    r('output', 12, '.ValueInfoProto'),
    r('value_info', 13, '.ValueInfoProto'),
    r('quantization_annotation', 14, '.TensorAnnotation'),
    r('sparse_initializer', 15, '.SparseTensorProto'),
  ]),
  message(
    'TensorProto',
    [
      r('dims', 1, 'int64'),
      f('data_type', 2, 'int32'),
      f('segment', 3, '.TensorProto.Segment'),
      r('float_data', 4, 'float', true),
      r('int32_data', 5, 'int32', true),
      r('string_data', 6, 'bytes'),
      r('int64_data', 7, 'int64', true),
      f('name', 8, 'string'),
      f('raw_data', 9, 'bytes'),
      r('double_data', 10, 'double', true),
      r('uint64_data', 11, 'uint64', true),
      f('doc_string', 12, 'string'),
      r('external_data', 13, '.StringStringEntryProto'),
      f('data_location', 14, 'int32'),
    ],
    [message('Segment', [f('begin', 1, 'int64'), f('end', 2, 'int64')])],
  ),
  message('SparseTensorProto', [
    f('values', 1, '.TensorProto'),
    f('indices', 2, '.TensorProto'),
    r('dims', 3, 'int64'),
  ]),
  message(
    'TensorShapeProto',
    [r('dim', 1, '.TensorShapeProto.Dimension')],
    [
      message(
        'Dimension',
        [
          f('dim_value', 1, 'int64', { oneof: 0 }),
          f('dim_param', 2, 'string', { oneof: 0 }),
          f('denotation', 3, 'string'),
        ],
        [],
        ['value'],
      ),
    ],
  ),
  message(
    'TypeProto',
    [
      f('tensor_type', 1, '.TypeProto.Tensor', { oneof: 0 }),
      f('sequence_type', 4, '.TypeProto.Sequence', { oneof: 0 }),
      f('map_type', 5, '.TypeProto.Map', { oneof: 0 }),
      f('denotation', 6, 'string'),
      f('opaque_type', 7, '.TypeProto.Opaque', { oneof: 0 }),
      f('sparse_tensor_type', 8, '.TypeProto.SparseTensor', { oneof: 0 }),
      f('optional_type', 9, '.TypeProto.Optional', { oneof: 0 }),
    ],
    [
      message('Tensor', [f('elem_type', 1, 'int32'), f('shape', 2, '.TensorShapeProto')]),
      message('Sequence', [f('elem_type', 1, '.TypeProto')]),
      message('Map', [f('key_type', 1, 'int32'), f('value_type', 2, '.TypeProto')]),
      message('Optional', [f('elem_type', 1, '.TypeProto')]),
      message('SparseTensor', [f('elem_type', 1, 'int32'), f('shape', 2, '.TensorShapeProto')]),
      message('Opaque', [f('domain', 1, 'string'), f('name', 2, 'string')]),
    ],
    ['value'],
  ),
  message('OperatorSetIdProto', [f('domain', 1, 'string'), f('version', 2, 'int64')]),
  message('FunctionProto', [
    f('name', 1, 'string'),
    r('input', 4, 'string'),
    r('output', 5, 'string'),
    r('attribute', 6, 'string'),
    r('node', 7, '.NodeProto'),
    f('doc_string', 8, 'string'),
    r('opset_import', 9, '.OperatorSetIdProto'),
    f('domain', 10, 'string'),
  ]),
];

const registry = createFileRegistry(
  fromJson(FileDescriptorProtoSchema, {
    name: 'onnx/onnx.proto',
    package: 'onnx',
    syntax: 'proto2',
    messageType: ONNX_MESSAGES,
  }),
  () => undefined,
);

function lookup(name: string): DescMessage {
  const desc = registry.getMessage(`onnx.${name}`);
  if (!desc) throw new Error(`ONNX schema is missing ${name}`);
  return desc;
}

export const ModelProtoDesc = lookup('ModelProto');
export const GraphProtoDesc = lookup('GraphProto');
export const TensorProtoDesc = lookup('TensorProto');
export const NodeProtoDesc = lookup('NodeProto');
export const ValueInfoProtoDesc = lookup('ValueInfoProto');
