/**
 * External data is checked for every tensor that can carry it, not only top-level initializers:
 * Constant attributes (value, sparse_value), subgraphs of If/Loop/Scan at any depth, any attribute
 * holding graphs, model-local functions. Each model is written to disk and read back as the engine
 * reads it (loadModel: the structure without weights), then checked.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { create } from '@bufbuild/protobuf';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkbenchError } from '../../app/common/errors.js';
import { decodeModel, encodeModel } from '../../app/engine/onnx/codec.js';
import { checkExternalData } from '../../app/engine/onnx/external-data.js';
import { loadModel } from '../../app/engine/onnx/model-file.js';
import { GraphProtoDesc, ModelProtoDesc, NodeProtoDesc } from '../../app/engine/onnx/schema.js';
import type { OnnxGraph, OnnxModel, OnnxNode } from '../../app/engine/onnx/types.js';
import { makeSpecialFiles, type SpecialFiles } from '../helpers/special-files.js';
import { tinyCnn } from '../helpers/paths.js';

const FLOAT = 1;
const TENSOR = 4;
const GRAPH = 5;
const GRAPHS = 10;
const SPARSE_TENSOR = 11;

let root: string;
let special: SpecialFiles;
let k = 0;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'ckawb-external-'));
  writeFileSync(join(root, 'outside.bin'), new Uint8Array(64));
  special = await makeSpecialFiles(join(root, 'special'));
});

afterAll(async () => {
  await special?.release();
});

/** A tensor whose values are said to be in `location` (64 bytes). */
function external(location: string, name = '', length = 64) {
  return {
    name,
    dims: [16n],
    dataType: FLOAT,
    dataLocation: 1,
    externalData: [
      { key: 'location', value: location },
      { key: 'length', value: String(length) },
    ],
  };
}

const node = (fields: Record<string, unknown>) => create(NodeProtoDesc, fields as never) as unknown as OnnxNode;

const constant = (name: string, attribute: Record<string, unknown>) =>
  node({ opType: 'Constant', name, output: [`${name}_out`], attribute: [attribute] });

const graph = (name: string, fields: Record<string, unknown>) =>
  create(GraphProtoDesc, { name, ...fields } as never) as unknown as OnnxGraph;

/** tiny_cnn with `edit` applied, written into a folder of its own; the folder holds `weights.bin` (64 bytes). */
function modelWith(edit: (model: OnnxModel, folder: string) => void): string {
  const folder = join(root, `case-${++k}`);
  mkdirSync(folder);
  writeFileSync(join(folder, 'weights.bin'), new Uint8Array(64));
  const model = decodeModel(readFileSync(tinyCnn), tinyCnn);
  edit(model, folder);
  const path = join(folder, 'model.onnx');
  writeFileSync(path, encodeModel(model));
  return path;
}

async function check(path: string): Promise<WorkbenchError | null> {
  const { model, facts } = await loadModel(path);
  try {
    await checkExternalData(model, facts.path);
    return null;
  } catch (err) {
    if (err instanceof WorkbenchError) return err;
    throw err;
  }
}

const OUTSIDE = '../outside.bin';

describe('external data everywhere in the model', () => {
  const places: [string, string, (m: OnnxModel, location: string, length?: number) => void][] = [
    [
      "a Constant's value",
      "node 'c1' (Constant), attribute 'value'",
      (m, location, length = 64) =>
        m.graph!.node.push(constant('c1', { name: 'value', type: TENSOR, t: external(location, '', length) })),
    ],
    [
      "a Constant's sparse_value",
      "node 'c2' (Constant), attribute 'sparse_value'",
      (m, location, length = 64) =>
        m.graph!.node.push(
          constant('c2', {
            name: 'sparse_value',
            type: SPARSE_TENSOR,
            sparseTensor: { dims: [16n], values: external(location, '', length), indices: { dims: [1n], dataType: 7 } },
          }),
        ),
    ],
    [
      "an initializer of an If's branch",
      "'branch_weight'",
      (m, location, length = 64) =>
        m.graph!.node.push(
          node({
            opType: 'If',
            name: 'if1',
            input: ['cond'],
            output: ['if_out'],
            attribute: [
              {
                name: 'then_branch',
                type: GRAPH,
                g: graph('then', { initializer: [external(location, 'branch_weight', length)] }),
              },
            ],
          }),
        ),
    ],
    [
      'a Constant three subgraphs deep (Loop → If → Scan)',
      "node 'deep' (Constant)",
      (m, location, length = 64) => {
        const scanBody = graph('scan_body', {
          node: [constant('deep', { name: 'value', type: TENSOR, t: external(location, '', length) })],
        });
        const ifNode = node({
          opType: 'If',
          name: 'inner_if',
          attribute: [
            {
              name: 'else_branch',
              type: GRAPH,
              g: graph('else', {
                node: [
                  node({
                    opType: 'Scan',
                    name: 'scan',
                    attribute: [{ name: 'body', type: GRAPH, g: scanBody }],
                  }),
                ],
              }),
            },
          ],
        });
        m.graph!.node.push(
          node({
            opType: 'Loop',
            name: 'loop',
            attribute: [{ name: 'body', type: GRAPH, g: graph('loop_body', { node: [ifNode] }) }],
          }),
        );
      },
    ],
    [
      'a custom op attribute holding a list of graphs',
      "node 'listed' (Constant)",
      (m, location, length = 64) =>
        m.graph!.node.push(
          node({
            opType: 'Custom',
            domain: 'com.example',
            name: 'custom',
            attribute: [
              {
                name: 'bodies',
                type: GRAPHS,
                graphs: [
                  graph('a', {}),
                  graph('b', {
                    node: [constant('listed', { name: 'value', type: TENSOR, t: external(location, '', length) })],
                  }),
                ],
              },
            ],
          }),
        ),
    ],
    [
      'a model-local function',
      "node 'in_function' (Constant)",
      (m, location, length = 64) => {
        const functionDesc = ModelProtoDesc.field['functions']!.message!;
        (m as unknown as { functions: unknown[] }).functions.push(
          create(functionDesc, {
            name: 'helper',
            domain: 'com.example',
            node: [constant('in_function', { name: 'value', type: TENSOR, t: external(location, '', length) })],
          } as never),
        );
      },
    ],
  ];

  it("a model's sha256 covers its side files, wherever they are named; the file's own is fileSha256", async () => {
    const sha256 = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');
    // A side file named in a function's Constant, and another in a Constant of the main graph.
    let folder = '';
    const path = modelWith((m, f) => {
      folder = f;
      places.at(-1)![2](m, 'weights.bin');
      places[0]![2](m, 'more.bin');
    });
    writeFileSync(join(folder, 'more.bin'), new Uint8Array(64).fill(7));
    const digest = () =>
      sha256(
        `onnx+external-data\n${sha256(readFileSync(path))}\n` +
          `more.bin\0${sha256(readFileSync(join(folder, 'more.bin')))}\n` +
          `weights.bin\0${sha256(readFileSync(join(folder, 'weights.bin')))}\n`,
      );
    const { facts } = await loadModel(path);
    expect(facts.fileSha256).toBe(sha256(readFileSync(path)));
    expect(facts.sha256).toBe(digest());
    // Other weights, the same model file: another model.
    writeFileSync(join(folder, 'weights.bin'), new Uint8Array(64).fill(1));
    const changed = (await loadModel(path)).facts;
    expect(changed.fileSha256).toBe(facts.fileSha256);
    expect(changed.sha256).toBe(digest());
    expect(changed.sha256).not.toBe(facts.sha256);
    // Without a side file the model can be inspected, not run: its sha256 is the file's until then.
    const alone = modelWith((m) => places[0]![2](m, 'missing.bin'));
    const facts2 = (await loadModel(alone)).facts;
    expect(facts2.sha256).toBe(facts2.fileSha256);
    // A model without side files keeps its file's digest.
    expect((await loadModel(tinyCnn)).facts.sha256).toBe(sha256(readFileSync(tinyCnn)));
  });

  for (const [place, where, add] of places) {
    it(`checks ${place}: outside the folder, a FIFO, a link to /dev/zero, past the file's end`, async () => {
      const outside = await check(modelWith((m) => add(m, OUTSIDE)));
      expect(outside?.code, place).toBe('FORBIDDEN');
      expect(outside?.message).toMatch(
        /its weights are said to be in '\.\.\/outside\.bin', outside the model's folder/,
      );
      expect((await check(modelWith((m) => add(m, '/etc/passwd'))))?.code, place).toBe('FORBIDDEN');
      const fifo = await check(
        modelWith((m, folder) => {
          special.fifo('weights.fifo', folder);
          add(m, 'weights.fifo');
        }),
      );
      expect(fifo?.code, place).toBe('BAD_INPUT');
      expect(fifo?.message).toMatch(
        /its weights file 'weights\.fifo': .* is a FIFO \(named pipe\), not a regular file/,
      );
      const zero = await check(
        modelWith((m, folder) => {
          special.zeroLink('weights.zero', folder);
          add(m, 'weights.zero');
        }),
      );
      expect(zero?.code, place).toBe('BAD_INPUT');
      expect(zero?.message).toMatch(/is a character device \(a link to \/dev\/zero\)/);
      expect(await check(modelWith((m) => add(m, 'weights.bin'))), place).toBeNull();
      const pastEnd = await check(modelWith((m) => add(m, 'weights.bin', 128)));
      expect(pastEnd?.code, place).toBe('BAD_MODEL');
      expect(pastEnd?.message).toContain(`the weights of ${where}`);
      expect(pastEnd?.message).toMatch(/at bytes 0–128 of 'weights\.bin', which has 64 bytes/);
    });
  }
});
