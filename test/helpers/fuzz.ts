/**
 * Mutations of real ONNX files for the fuzzing suite (issue 8 §2): a seeded random generator, a
 * walker that finds the protobuf fields of a model (tags, length prefixes, nested messages), and
 * the byte-level mutations built on it — truncation, byte flips, enormous declared lengths, wrong
 * wire types — plus non-ONNX inputs.
 */
import { Mulberry32 } from '../../app/engine/cka/rng.js';

/** Uniform in [0, 1) from the engine's seeded generator (mulberry32, app/engine/cka/rng.ts). */
export function seededRandom(seed: number): () => number {
  const rng = new Mulberry32(seed);
  return () => rng.nextUint32() / 4294967296;
}

export function pick<T>(random: () => number, items: readonly T[], count: number): T[] {
  const pool = [...items];
  const out: T[] = [];
  while (out.length < count && pool.length > 0) out.push(pool.splice(Math.floor(random() * pool.length), 1)[0]!);
  return out;
}

/** One field of a protobuf message as it lies in the bytes. */
export interface WireField {
  /** Message type it belongs to (ONNX name) and its nesting depth (0 = ModelProto). */
  message: string;
  depth: number;
  field: number;
  wireType: number;
  /** Byte offsets: tag, the length prefix (length-delimited fields), the value and its end. */
  tagStart: number;
  lengthStart: number;
  valueStart: number;
  valueEnd: number;
}

/** Message-typed fields of the ONNX messages (field number → message), to descend into. */
const NESTED: Record<string, Record<number, string>> = {
  ModelProto: { 7: 'GraphProto', 8: 'OperatorSetIdProto', 14: 'StringStringEntryProto', 25: 'FunctionProto' },
  GraphProto: { 1: 'NodeProto', 5: 'TensorProto', 11: 'ValueInfoProto', 12: 'ValueInfoProto', 13: 'ValueInfoProto' },
  NodeProto: { 5: 'AttributeProto' },
  AttributeProto: { 5: 'TensorProto', 6: 'GraphProto', 10: 'TensorProto', 11: 'GraphProto', 14: 'TypeProto' },
  TensorProto: { 13: 'StringStringEntryProto' },
  ValueInfoProto: { 2: 'TypeProto' },
  TypeProto: { 1: 'TypeProto.Tensor' },
  'TypeProto.Tensor': { 2: 'TensorShapeProto' },
  TensorShapeProto: { 1: 'TensorShapeProto.Dimension' },
  FunctionProto: { 7: 'NodeProto' },
};

function readVarint(bytes: Uint8Array, at: number, end: number): { value: bigint; next: number } {
  let value = 0n;
  let shift = 0n;
  for (let i = at; i < end && i < at + 10; i++) {
    const b = bytes[i]!;
    value |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return { value, next: i + 1 };
    shift += 7n;
  }
  throw new Error(`bad varint at ${at}`);
}

export function encodeVarint(value: bigint): Uint8Array {
  const out: number[] = [];
  let v = BigInt.asUintN(64, value);
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return Uint8Array.from(out);
}

/** Every field of a well-formed model, depth first (nested messages after their own header). */
export function walkFields(bytes: Uint8Array, message = 'ModelProto', start = 0, end = bytes.length, depth = 0) {
  const fields: WireField[] = [];
  let at = start;
  while (at < end) {
    const tagStart = at;
    const tag = readVarint(bytes, at, end);
    const field = Number(tag.value >> 3n);
    const wireType = Number(tag.value & 7n);
    at = tag.next;
    let lengthStart = at;
    let valueStart = at;
    switch (wireType) {
      case 0:
        at = readVarint(bytes, at, end).next;
        break;
      case 1:
        at += 8;
        break;
      case 5:
        at += 4;
        break;
      case 2: {
        const length = readVarint(bytes, at, end);
        lengthStart = at;
        valueStart = length.next;
        at = valueStart + Number(length.value);
        break;
      }
      default:
        throw new Error(`unexpected wire type ${wireType} at ${tagStart}`);
    }
    const record: WireField = { message, depth, field, wireType, tagStart, lengthStart, valueStart, valueEnd: at };
    fields.push(record);
    const nested = NESTED[message]?.[field];
    if (wireType === 2 && nested) fields.push(...walkFields(bytes, nested, valueStart, at, depth + 1));
  }
  return fields;
}

export interface Mutation {
  name: string;
  bytes: Uint8Array;
}

function splice(bytes: Uint8Array, from: number, to: number, insert: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length - (to - from) + insert.length);
  out.set(bytes.subarray(0, from), 0);
  out.set(insert, from);
  out.set(bytes.subarray(to), from + insert.length);
  return out;
}

/** The file cut at `count` points spread over it, and at the ends of randomly chosen fields. */
export function truncations(bytes: Uint8Array, fields: WireField[], random: () => number, count: number): Mutation[] {
  const points = new Set<number>([1, 2, bytes.length - 1]);
  for (let k = 1; points.size < Math.ceil(count / 2); k++) points.add(Math.floor((bytes.length * k) / (count / 2 + 1)));
  for (const f of pick(random, fields, count)) {
    if (points.size >= count) break;
    points.add(f.valueStart + Math.floor((f.valueEnd - f.valueStart) / 2));
  }
  return [...points]
    .filter((p) => p > 0 && p < bytes.length)
    .sort((a, b) => a - b)
    .map((p) => ({ name: `truncated at ${p}/${bytes.length}`, bytes: bytes.slice(0, p) }));
}

/** `count` copies with 1–8 random bytes replaced; half of them hit field headers (tags, lengths). */
export function byteFlips(bytes: Uint8Array, fields: WireField[], random: () => number, count: number): Mutation[] {
  const headers = fields.flatMap((f) => Array.from({ length: f.valueStart - f.tagStart }, (_, i) => f.tagStart + i));
  const out: Mutation[] = [];
  for (let c = 0; c < count; c++) {
    const copy = bytes.slice();
    const flips = 1 + Math.floor(random() * 8);
    const where: number[] = [];
    for (let k = 0; k < flips; k++) {
      const p =
        c % 2 === 0 && headers.length > 0
          ? headers[Math.floor(random() * headers.length)]!
          : Math.floor(random() * bytes.length);
      copy[p] = Math.floor(random() * 256);
      where.push(p);
    }
    out.push({ name: `bytes changed at ${where.join(',')}`, bytes: copy });
  }
  return out;
}

const HUGE_LENGTHS = [2n ** 31n - 1n, 2n ** 32n + 5n, 2n ** 53n, 2n ** 63n - 1n, 2n ** 64n - 1n];

/** Length prefixes of randomly chosen length-delimited fields replaced by enormous values. */
export function hugeLengths(bytes: Uint8Array, fields: WireField[], random: () => number, count: number): Mutation[] {
  const delimited = fields.filter((f) => f.wireType === 2);
  return pick(random, delimited, count).map((f, k) => {
    const huge = k % 6 === 5 ? BigInt(bytes.length - f.valueStart + 1) : HUGE_LENGTHS[k % HUGE_LENGTHS.length]!;
    return {
      name: `${f.message}.${f.field} (depth ${f.depth}) declares ${huge} bytes`,
      bytes: splice(bytes, f.lengthStart, f.valueStart, encodeVarint(huge)),
    };
  });
}

/** Tags of randomly chosen fields rewritten with another wire type (3, 4: groups; 6, 7: invalid). */
export function wrongWireTypes(bytes: Uint8Array, fields: WireField[], random: () => number, count: number) {
  return pick(random, fields, count).map((f, k) => {
    const types = [0, 1, 2, 3, 4, 5, 6, 7].filter((t) => t !== f.wireType);
    const wireType = types[k % types.length]!;
    const tag = encodeVarint((BigInt(f.field) << 3n) | BigInt(wireType));
    const tagEnd = readVarint(bytes, f.tagStart, bytes.length).next;
    return {
      name: `${f.message}.${f.field} (depth ${f.depth}) as wire type ${wireType}`,
      bytes: splice(bytes, f.tagStart, tagEnd, tag),
    };
  });
}

/** Files that are not ONNX at all: empty, random bytes of several sizes, other formats. */
export function notOnnx(random: () => number, model: Uint8Array): Mutation[] {
  const noise = (n: number) => Uint8Array.from({ length: n }, () => Math.floor(random() * 256));
  const text = new TextEncoder();
  return [
    { name: 'zero-length file', bytes: new Uint8Array(0) },
    ...[1, 7, 100, 4096, 65_536].map((n) => ({ name: `${n} random bytes`, bytes: noise(n) })),
    { name: 'model header then random bytes', bytes: Uint8Array.from([...model.subarray(0, 24), ...noise(2000)]) },
    { name: 'a text file', bytes: text.encode('ir_version: 8\ngraph { node { op_type: "Relu" } }\n') },
    { name: 'a JSON file', bytes: text.encode(JSON.stringify({ irVersion: 8, graph: { node: [] } })) },
    {
      name: 'a PNG header',
      bytes: Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...noise(200)]),
    },
    { name: 'a zip header', bytes: Uint8Array.from([0x50, 0x4b, 0x03, 0x04, ...noise(300)]) },
    { name: '1 MB of 0xFF', bytes: new Uint8Array(2 ** 20).fill(0xff) },
  ];
}

/**
 * A ModelProto whose graph nests `depth` subgraphs (If.then_branch inside If.then_branch …),
 * written outside-in into one buffer: every level's bytes are a prefix of the level inside it.
 */
export function nestedSubgraphs(depth: number, irVersion = 8): Uint8Array {
  const encoder = new TextEncoder();
  const header = (field: number, length: number) => [
    ...encodeVarint(BigInt((field << 3) | 2)),
    ...encodeVarint(BigInt(length)),
  ];
  const text = (field: number, value: string) => {
    const bytes = encoder.encode(value);
    return [...header(field, bytes.length), ...bytes];
  };
  const ifOp = text(4, 'If');
  const thenBranch = text(1, 'then_branch');
  const leaf = text(2, 'leaf');
  // Sizes inside out: graph(d) = node{ op, attribute{ name, g: graph(d - 1) } }.
  const graphSize = [leaf.length];
  const levels: { graph: number[]; node: number[]; attribute: number[] }[] = [];
  for (let d = 1; d <= depth; d++) {
    const inner = graphSize[d - 1]!;
    const attribute = [...thenBranch, ...header(6, inner)];
    const attributeSize = attribute.length + inner;
    const node = [...ifOp, ...header(5, attributeSize)];
    const nodeSize = node.length + attributeSize;
    const graph = header(1, nodeSize);
    levels.push({ graph, node, attribute });
    graphSize.push(graph.length + nodeSize);
  }
  const model = [0x08, irVersion, ...header(7, graphSize[depth]!)];
  const out: number[] = [...model];
  for (let d = depth; d >= 1; d--) {
    const level = levels[d - 1]!;
    for (const part of [level.graph, level.node, level.attribute]) for (const b of part) out.push(b);
  }
  out.push(...leaf);
  return Uint8Array.from(out);
}
