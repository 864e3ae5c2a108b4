/**
 * A minimal ONNX model encoder for the tiny compute graphs the CKA core runs in onnxruntime
 * (Gemm, MatMul, reductions). It writes protobuf wire format directly from the field numbers of
 * onnx/onnx.proto, so it depends on nothing but this file. It is not a general ONNX writer: only
 * the messages and fields these graphs need (nodes with int/ints/float attributes, typed inputs
 * and outputs with fixed or symbolic dimensions, small raw initializers).
 */

/** ONNX TensorProto.DataType values used here. */
export const OnnxElemType = { float32: 1, int64: 7, float64: 11 } as const;
export type ComputeDType = 'float32' | 'float64';

/** The typed array that holds values of `dtype`. */
export function arrayTypeOf(dtype: ComputeDType): Float32ArrayConstructor | Float64ArrayConstructor {
  return dtype === 'float64' ? Float64Array : Float32Array;
}

/** The dtype of a float array's values. */
export function dtypeOf(values: Float32Array | Float64Array): ComputeDType {
  return values instanceof Float64Array ? 'float64' : 'float32';
}

export type Dim = number | string;

export interface GraphValue {
  name: string;
  dtype: ComputeDType | 'int64';
  /** Fixed sizes or symbolic names ("n", "rows"). */
  dims: readonly Dim[];
}

export type AttributeValue = { int: number } | { ints: readonly number[] } | { float: number };

export interface GraphNode {
  op: string;
  inputs: readonly string[];
  outputs: readonly string[];
  attributes?: Record<string, AttributeValue>;
}

export interface GraphInitializer {
  name: string;
  dims: readonly number[];
  /** int64 values (e.g. the `axes` input of ReduceSum). */
  int64: readonly number[];
}

export interface GraphSpec {
  name: string;
  inputs: readonly GraphValue[];
  outputs: readonly GraphValue[];
  nodes: readonly GraphNode[];
  initializers?: readonly GraphInitializer[];
  /** Default-domain opset version; 17 is supported by every onnxruntime ≥ 1.13. */
  opset?: number;
}

class ProtoWriter {
  private chunks: number[] = [];

  private varint(value: bigint): void {
    let v = BigInt.asUintN(64, value);
    while (v >= 0x80n) {
      this.chunks.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.chunks.push(Number(v));
  }

  private tag(field: number, wireType: number): void {
    this.varint(BigInt((field << 3) | wireType));
  }

  int(field: number, value: number | bigint): this {
    this.tag(field, 0);
    this.varint(BigInt(value));
    return this;
  }

  float(field: number, value: number): this {
    this.tag(field, 5);
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setFloat32(0, value, true);
    this.chunks.push(...bytes);
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.tag(field, 2);
    this.varint(BigInt(value.length));
    for (const b of value) this.chunks.push(b);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  message(field: number, build: (w: ProtoWriter) => void): this {
    const inner = new ProtoWriter();
    build(inner);
    return this.bytes(field, inner.finish());
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.chunks);
  }
}

const ATTRIBUTE_TYPE = { float: 1, int: 2, ints: 7 } as const;

function writeValueInfo(w: ProtoWriter, value: GraphValue): void {
  w.string(1, value.name);
  w.message(2, (type) =>
    type.message(1, (tensor) => {
      tensor.int(1, OnnxElemType[value.dtype]);
      tensor.message(2, (shape) => {
        for (const dim of value.dims) {
          shape.message(1, (d) => (typeof dim === 'number' ? d.int(1, dim) : d.string(2, dim)));
        }
      });
    }),
  );
}

function writeAttribute(w: ProtoWriter, name: string, value: AttributeValue): void {
  w.string(1, name);
  if ('int' in value) {
    w.int(3, value.int);
    w.int(20, ATTRIBUTE_TYPE.int);
  } else if ('ints' in value) {
    for (const v of value.ints) w.int(8, v);
    w.int(20, ATTRIBUTE_TYPE.ints);
  } else {
    w.float(2, value.float);
    w.int(20, ATTRIBUTE_TYPE.float);
  }
}

/** Encodes a graph spec as ONNX model bytes (IR version 8). */
export function encodeComputeGraph(spec: GraphSpec): Uint8Array {
  const model = new ProtoWriter();
  model.int(1, 8); // ir_version
  model.string(2, 'cka-workbench-compute');
  model.message(7, (graph) => {
    spec.nodes.forEach((node, index) => {
      graph.message(1, (n) => {
        for (const input of node.inputs) n.string(1, input);
        for (const output of node.outputs) n.string(2, output);
        n.string(3, `${node.op}_${index}`);
        n.string(4, node.op);
        for (const [name, value] of Object.entries(node.attributes ?? {})) {
          n.message(5, (a) => writeAttribute(a, name, value));
        }
      });
    });
    graph.string(2, spec.name);
    for (const init of spec.initializers ?? []) {
      graph.message(5, (t) => {
        for (const d of init.dims) t.int(1, d);
        t.int(2, OnnxElemType.int64);
        t.string(8, init.name);
        const raw = new Uint8Array(init.int64.length * 8);
        const view = new DataView(raw.buffer);
        init.int64.forEach((v, i) => view.setBigInt64(i * 8, BigInt(v), true));
        t.bytes(9, raw);
      });
    }
    for (const input of spec.inputs) graph.message(11, (v) => writeValueInfo(v, input));
    for (const output of spec.outputs) graph.message(12, (v) => writeValueInfo(v, output));
  });
  model.message(8, (opset) => opset.string(1, '').int(2, spec.opset ?? 17));
  return model.finish();
}
