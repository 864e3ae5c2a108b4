/**
 * TypeScript views of the decoded ONNX messages (the parts the engine reads). The objects are
 * @bufbuild/protobuf messages; unset proto2 fields read as their defaults, int64 fields are bigint.
 */
export interface OnnxModel {
  $typeName: 'onnx.ModelProto';
  irVersion: bigint;
  producerName: string;
  producerVersion: string;
  domain: string;
  modelVersion: bigint;
  docString: string;
  graph?: OnnxGraph;
  opsetImport: OnnxOpset[];
  metadataProps: { key: string; value: string }[];
}

export interface OnnxOpset {
  domain: string;
  version: bigint;
}

export interface OnnxGraph {
  $typeName: 'onnx.GraphProto';
  node: OnnxNode[];
  name: string;
  initializer: OnnxTensor[];
  sparseInitializer: { values?: OnnxTensor; indices?: OnnxTensor; dims: bigint[] }[];
  input: OnnxValueInfo[];
  output: OnnxValueInfo[];
  valueInfo: OnnxValueInfo[];
}

export interface OnnxNode {
  $typeName: 'onnx.NodeProto';
  input: string[];
  output: string[];
  name: string;
  opType: string;
  domain: string;
  attribute: OnnxAttribute[];
}

export interface OnnxAttribute {
  name: string;
  type: number;
  f: number;
  i: bigint;
  s: Uint8Array;
  t?: OnnxTensor;
  g?: OnnxGraph;
  floats: number[];
  ints: bigint[];
  graphs: OnnxGraph[];
}

export interface OnnxTensor {
  $typeName: 'onnx.TensorProto';
  dims: bigint[];
  dataType: number;
  name: string;
  rawData: Uint8Array;
  floatData: number[];
  int32Data: number[];
  int64Data: bigint[];
  doubleData: number[];
  externalData: { key: string; value: string }[];
  dataLocation: number;
}

export interface OnnxValueInfo {
  $typeName: 'onnx.ValueInfoProto';
  name: string;
  type?: OnnxType;
}

export interface OnnxType {
  value:
    | { case: 'tensorType'; value: { elemType: number; shape?: OnnxShape } }
    | { case: 'sequenceType' | 'mapType' | 'optionalType' | 'sparseTensorType' | 'opaqueType'; value: unknown }
    | { case: undefined; value?: undefined };
}

export interface OnnxShape {
  dim: { value: { case: 'dimValue'; value: bigint } | { case: 'dimParam'; value: string } | { case: undefined } }[];
}
