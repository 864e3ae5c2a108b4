/**
 * Hand-made hostile models for the fuzzing suite (issue 8 §2): well-formed protobuf whose content
 * is wrong or dangerous — cycles, unknown ops, "zip bomb" initializers that declare terabytes with
 * a few bytes of data, external data that points outside the model's folder or past its file,
 * inputs no probe can fill, graphs far wider or deeper than any real network, a loop that never
 * ends, and a layer far too large per example. Each is a variation of a real model.
 */
import { create } from '@bufbuild/protobuf';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeModel, encodeModel } from '../../app/engine/onnx/codec.js';
import {
  GraphProtoDesc,
  ModelProtoDesc,
  NodeProtoDesc,
  TensorProtoDesc,
  ValueInfoProtoDesc,
} from '../../app/engine/onnx/schema.js';
import type { OnnxModel, OnnxTensor } from '../../app/engine/onnx/types.js';
import { nestedSubgraphs } from './fuzz.js';

export interface HostileModel {
  name: string;
  /** The model file (written into the case folder). */
  file: string;
  /** What an experiment run with it ends in: 'ok' or an error code; null: inspected only. */
  expected: string | null;
}

const FLOAT = 1;
const INT64 = 7;

type Build = (model: OnnxModel, folder: string) => OnnxModel | Uint8Array;

function node(opType: string, input: string[], output: string[], name: string, extra: Record<string, unknown> = {}) {
  return create(NodeProtoDesc, { opType, input, output, name, ...extra } as never) as never;
}

function tensor(init: Record<string, unknown>): OnnxTensor {
  return create(TensorProtoDesc, init as never) as unknown as OnnxTensor;
}

function valueInfo(name: string, elemType: number, dims: (bigint | string)[]) {
  return create(ValueInfoProtoDesc, {
    name,
    type: {
      value: {
        case: 'tensorType',
        value: {
          elemType,
          shape: {
            dim: dims.map((d) => ({
              value: typeof d === 'string' ? { case: 'dimParam', value: d } : { case: 'dimValue', value: d },
            })),
          },
        },
      },
    },
  } as never) as never;
}

/** tiny_cnn's first conv weight, [4, 1, 3, 3] float32. */
const CONV_WEIGHT = 'onnx::Conv_28';

function withExternalWeight(model: OnnxModel, entries: [string, string][], dims = [4n, 1n, 3n, 3n]): OnnxModel {
  const graph = model.graph!;
  const i = graph.initializer.findIndex((t) => t.name === CONV_WEIGHT);
  graph.initializer[i] = tensor({
    name: CONV_WEIGHT,
    dims,
    dataType: FLOAT,
    dataLocation: 1,
    externalData: entries.map(([key, value]) => ({ key, value })),
  });
  return model;
}

function setInputDims(model: OnnxModel, dims: (bigint | string)[], elemType = FLOAT): OnnxModel {
  const graph = model.graph!;
  graph.input[0] = valueInfo(graph.input[0]!.name, elemType, dims);
  return model;
}

/** What a run of the case against tiny_cnn ends in: 'ok' or an error code; null: not run (too slow to be worth it). */
type Expected = string | null;

const c = (expected: Expected, build: Build) => ({ expected, build });

/** Cases built on tiny_cnn (input [batch, 1, 28, 28] → 8 float layers → logits). */
const ON_TINY_CNN: Record<string, { expected: Expected; build: Build }> = {
  'a cycle through two nodes': c('BAD_MODEL', (m) => {
    const nodes = m.graph!.node;
    nodes[0]!.input = [...nodes[0]!.input, nodes.at(-1)!.output[0]!];
    return m;
  }),
  'a node that reads its own output': c('BAD_MODEL', (m) => {
    const n = m.graph!.node[2]!;
    n.input = [n.output[0]!];
    return m;
  }),
  'a node reading a tensor nobody provides': c('BAD_MODEL', (m) => {
    m.graph!.node[1]!.input = ['ghost'];
    return m;
  }),
  'an unknown op': c('RUNTIME', (m) => {
    m.graph!.node[0]!.opType = 'FrobnicateXYZ';
    return m;
  }),
  'an op in an unknown domain': c('RUNTIME', (m) => {
    Object.assign(m.graph!.node[3]!, { domain: 'com.example.evil', opType: 'Exfiltrate' });
    return m;
  }),
  'two nodes writing one tensor': c('BAD_MODEL', (m) => {
    const nodes = m.graph!.node;
    nodes[2]!.output = [nodes[1]!.output[0]!];
    return m;
  }),
  'no opset import': c('RUNTIME', (m) => {
    m.opsetImport = [];
    return m;
  }),
  'opset 9999 and ir_version 999': c('RUNTIME', (m) => {
    m.opsetImport[0]!.version = 9999n;
    m.irVersion = 999n;
    return m;
  }),
  'no ir_version': c('BAD_MODEL', (m) => {
    m.irVersion = 0n;
    return m;
  }),
  'a graph with no nodes and no outputs': c('BAD_MODEL', (m) => {
    m.graph!.node = [];
    m.graph!.output = [];
    return m;
  }),
  'an initializer declaring 4 TB with 144 bytes of data (Conv weight [2^40, 1, 3, 3])': c('RUNTIME', (m) => {
    m.graph!.initializer.find((t) => t.name === CONV_WEIGHT)!.dims = [2n ** 40n, 1n, 3n, 3n];
    return m;
  }),
  'an unused initializer declaring 2^40 floats with no data': c('ok', (m) => {
    m.graph!.initializer.push(tensor({ name: 'bomb', dims: [2n ** 40n], dataType: FLOAT }));
    return m;
  }),
  'an unused initializer [2^20, 2^20] with 4 bytes of raw data': c('ok', (m) => {
    m.graph!.initializer.push(
      tensor({ name: 'bomb', dims: [2n ** 20n, 2n ** 20n], dataType: FLOAT, rawData: new Uint8Array(4) }),
    );
    return m;
  }),
  'a Constant node declaring 2^40 floats, consumed': c('RUNTIME', (m) => {
    const graph = m.graph!;
    graph.node.push(
      node('Constant', [], ['huge_const'], 'bomb_const', {
        attribute: [{ name: 'value', type: 4, t: { dims: [2n ** 40n], dataType: FLOAT } }],
      }),
      node('Add', [graph.output[0]!.name, 'huge_const'], ['bombed'], 'bomb_add'),
    );
    return m;
  }),
  'negative initializer dims': c('RUNTIME', (m) => {
    m.graph!.initializer.find((t) => t.name === CONV_WEIGHT)!.dims = [-4n, 1n, 3n, 3n];
    return m;
  }),
  'external data outside the folder (../)': c('FORBIDDEN', (m) =>
    withExternalWeight(m, [['location', '../../../../etc/passwd']]),
  ),
  'external data at an absolute path': c('FORBIDDEN', (m) => withExternalWeight(m, [['location', '/etc/passwd']])),
  'external data through a symlink to a file outside the folder': c('FORBIDDEN', (m, folder) => {
    symlinkSync('/etc/passwd', join(folder, 'linked.weights'));
    return withExternalWeight(m, [['location', 'linked.weights']]);
  }),
  'external data at offset 2^60': c('BAD_MODEL', (m, folder) => {
    writeFileSync(join(folder, 'small.weights'), new Uint8Array(144));
    return withExternalWeight(m, [
      ['location', 'small.weights'],
      ['offset', String(2n ** 60n)],
      ['length', '144'],
    ]);
  }),
  'external data of length 2^50': c('BAD_MODEL', (m, folder) => {
    writeFileSync(join(folder, 'small.weights'), new Uint8Array(144));
    return withExternalWeight(m, [
      ['location', 'small.weights'],
      ['length', String(2n ** 50n)],
    ]);
  }),
  'external data at a negative offset': c('BAD_MODEL', (m, folder) => {
    writeFileSync(join(folder, 'small.weights'), new Uint8Array(144));
    return withExternalWeight(m, [
      ['location', 'small.weights'],
      ['offset', '-64'],
    ]);
  }),
  'external data declaring 37 MB in a 144-byte file': c('RUNTIME', (m, folder) => {
    writeFileSync(join(folder, 'small.weights'), new Uint8Array(144));
    return withExternalWeight(m, [['location', 'small.weights']], [2n ** 20n, 1n, 3n, 3n]);
  }),
  'external data that is a folder': c('BAD_INPUT', (m, folder) => {
    mkdirSync(join(folder, 'a-folder.weights'));
    return withExternalWeight(m, [['location', 'a-folder.weights']]);
  }),
  'external data that is missing': c('NOT_FOUND', (m) => withExternalWeight(m, [['location', 'missing.weights']])),
  'external data that is a FIFO': c('BAD_INPUT', (m, folder) => {
    execFileSync('mkfifo', [join(folder, 'pipe.weights')]);
    return withExternalWeight(m, [['location', 'pipe.weights']]);
  }),
  'external data that is a link to /dev/zero': c('BAD_INPUT', (m, folder) => {
    symlinkSync('/dev/zero', join(folder, 'zero.weights'));
    return withExternalWeight(m, [['location', 'zero.weights']]);
  }),
  "external data of a Constant node's value outside the folder": c('FORBIDDEN', (m) => {
    const graph = m.graph!;
    const value = tensor({
      dims: [10n],
      dataType: FLOAT,
      dataLocation: 1,
      externalData: [{ key: 'location', value: '/etc/passwd' }],
    });
    graph.node.push(
      node('Constant', [], ['outside_const'], 'outside_const', { attribute: [{ name: 'value', type: 4, t: value }] }),
      node('Add', [graph.output[0]!.name, 'outside_const'], ['with_const'], 'outside_add'),
    );
    graph.output = [valueInfo('with_const', FLOAT, ['batch', 10n])];
    return m;
  }),
  'external data in the body of an If, outside the folder': c('FORBIDDEN', (m) => {
    const graph = m.graph!;
    const weight = tensor({
      name: 'branch_weight',
      dims: [10n],
      dataType: FLOAT,
      dataLocation: 1,
      externalData: [{ key: 'location', value: '../../../../etc/passwd' }],
    });
    const branch = (name: string) =>
      create(GraphProtoDesc, {
        name,
        initializer: [weight],
        node: [node('Add', [graph.output[0]!.name, 'branch_weight'], [`${name}_out`], `${name}_add`)],
        output: [valueInfo(`${name}_out`, FLOAT, ['batch', 10n])],
      } as never);
    graph.initializer.push(tensor({ name: 'cond', dims: [], dataType: 9, int32Data: [1] }));
    graph.node.push(
      node('If', ['cond'], ['branched'], 'outside_if', {
        attribute: [
          { name: 'then_branch', type: 5, g: branch('then') },
          { name: 'else_branch', type: 5, g: branch('else') },
        ],
      }),
    );
    graph.output = [valueInfo('branched', FLOAT, ['batch', 10n])];
    return m;
  }),
  'an input dimension of 2^40': c('OUT_OF_MEMORY', (m) => setInputDims(m, ['batch', 1n, 28n, 2n ** 40n])),
  'a negative input dimension': c('BAD_PROBE', (m) => setInputDims(m, ['batch', 1n, -28n, 28n])),
  'an input dimension of 0': c('RUNTIME', (m) => setInputDims(m, ['batch', 1n, 0n, 28n])),
  'a scalar input': c('RUNTIME', (m) => setInputDims(m, [])),
  'an int64 input': c('RUNTIME', (m) => setInputDims(m, ['batch', 1n, 28n, 28n], INT64)),
  'a string input': c('RUNTIME', (m) => setInputDims(m, ['batch', 1n, 28n, 28n], 8)),
  'two inputs': c('UNSUPPORTED', (m) => {
    m.graph!.input.push(valueInfo('second', FLOAT, ['batch', 3n]));
    return m;
  }),
  'only integer outputs (ArgMax of the logits)': c('BAD_INPUT', (m) => {
    const graph = m.graph!;
    graph.node = [node('ArgMax', ['input'], ['argmax'], 'argmax', { attribute: [{ name: 'axis', type: 2, i: 1n }] })];
    graph.output = [valueInfo('argmax', INT64, ['batch', 1n, 28n, 28n])];
    return m;
  }),
  'a graph 5000 nodes wide': c(null, (m) => {
    for (let i = 0; i < 5000; i++) m.graph!.node.push(node('Identity', ['input'], [`wide_${i}`], `wide_${i}`));
    return m;
  }),
  'a chain 300 nodes deep': c('ok', (m) => {
    let previous = m.graph!.output[0]!.name;
    for (let i = 0; i < 300; i++) {
      m.graph!.node.push(node('Relu', [previous], [`deep_${i}`], `/deep/deep.${i}/Relu`));
      previous = `deep_${i}`;
    }
    return m;
  }),
  'a Loop that never ends': c('TIMEOUT', (m) => {
    const graph = m.graph!;
    const body = create(GraphProtoDesc, {
      name: 'forever',
      node: [node('Identity', ['cond_in'], ['cond_out'], 'keep_going'), node('Relu', ['x_in'], ['x_out'], 'body_relu')],
      input: [valueInfo('i', INT64, []), valueInfo('cond_in', 9, []), valueInfo('x_in', FLOAT, ['batch', 10n])],
      output: [valueInfo('cond_out', 9, []), valueInfo('x_out', FLOAT, ['batch', 10n])],
    } as never);
    graph.initializer.push(
      tensor({ name: 'trip_count', dims: [], dataType: INT64, int64Data: [2n ** 62n] }),
      tensor({ name: 'always', dims: [], dataType: 9, int32Data: [1] }),
    );
    const logits = graph.output[0]!.name;
    graph.node.push(
      node('Loop', ['trip_count', 'always', logits], ['looped'], 'forever_loop', {
        attribute: [{ name: 'body', type: 5, g: body }],
      }),
    );
    graph.output = [valueInfo('looped', FLOAT, ['batch', 10n])];
    return m;
  }),
  'a layer of 10^8 values per example (Expand to [b, 2^17, 28, 28])': c('ok', (m) => {
    const graph = m.graph!;
    graph.initializer.push(
      tensor({ name: 'bomb_shape', dims: [4n], dataType: INT64, int64Data: [1n, 2n ** 17n, 28n, 28n] }),
    );
    graph.node.push(node('Expand', ['input', 'bomb_shape'], ['bomb_layer'], '/bomb/Expand'));
    graph.output.push(create(ValueInfoProtoDesc, { name: 'bomb_layer' }) as never);
    return m;
  }),
  'tensor names that are paths, very long, or odd': c('ok', (m) => {
    const graph = m.graph!;
    const rename = new Map([
      [graph.node[0]!.output[0]!, '../../../../tmp/ckawb-evil'],
      [graph.node[1]!.output[0]!, 'x'.repeat(20_000)],
      [graph.node[2]!.output[0]!, 'a\u0000b/..\\c:\u202e.npy'],
    ]);
    for (const n of graph.node) {
      n.input = n.input.map((t) => rename.get(t) ?? t);
      n.output = n.output.map((t) => rename.get(t) ?? t);
      n.name = n.name.replace(/\//g, '\\');
    }
    return m;
  }),
  '10,000 metadata entries and opset imports': c('ok', (m) => {
    const many = Array.from({ length: 10_000 }, (_, i) => i);
    const { $typeName: _typeName, ...fields } = m;
    return create(ModelProtoDesc, {
      ...fields,
      metadataProps: many.map((i) => ({ key: `k${i}`, value: 'v'.repeat(10) })),
      opsetImport: [...m.opsetImport, ...many.map((i) => ({ domain: `com.example.d${i}`, version: 1n }))],
    } as never) as unknown as OnnxModel;
  }),
};

/** Writes every hand-made hostile model into `dir` (one folder per case, for its side files). */
export function writeHostileModels(base: string, dir: string): HostileModel[] {
  const out: HostileModel[] = [];
  let k = 0;
  for (const [name, { expected, build }] of Object.entries(ON_TINY_CNN)) {
    const folder = join(dir, `hostile-${String(++k).padStart(2, '0')}`);
    mkdirSync(folder, { recursive: true });
    const built = build(decodeModel(readFileSync(base), base), folder);
    const file = join(folder, 'model.onnx');
    writeFileSync(file, built instanceof Uint8Array ? built : encodeModel(built));
    out.push({ name, file, expected });
  }
  for (const depth of [20, 40, 5000]) {
    const folder = join(dir, `hostile-${String(++k).padStart(2, '0')}`);
    mkdirSync(folder, { recursive: true });
    const file = join(folder, 'model.onnx');
    writeFileSync(file, nestedSubgraphs(depth));
    // Within the decoder's limit (100 nested messages, 3 per level) the If nodes have no outputs, so no layers; past it, not a model.
    out.push({ name: `subgraphs nested ${depth} deep`, file, expected: depth <= 30 ? 'BAD_INPUT' : 'BAD_MODEL' });
  }
  return out;
}
