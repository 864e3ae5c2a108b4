/**
 * The work a run asks of the model runner: which sessions it opens and which batches it runs in
 * them, recorded by a launcher around the real one (the messages the engine sends its runner
 * processes). A first run prepares each model (calibration: batches of 2 and 3 examples) and then
 * extracts it in a session of its own, which does not calibrate again. Opening a probe for a model
 * whose file declares its input needs no session.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { ExperimentSpec } from '../../app/common/contract.js';
import { createWorkbench, type Workbench } from '../../app/api/workbench.js';
import { nodeLauncher, type ProcessLauncher } from '../../app/engine/runner/launcher.js';
import { distinctCopy, withPostMessage } from '../helpers/faults.js';
import { removeTempDataDirs, runExperimentToEnd, tempDataDir, zoo } from '../helpers/experiments.js';

/** Every session opened, in order: its model and the batch size (examples fed) of each run in it. */
const sessions: { model: string; batches: number[] }[] = [];

const countingLauncher: ProcessLauncher = {
  spawn(entry, options) {
    const channel = nodeLauncher.spawn(entry, options);
    return withPostMessage(channel, (message) => {
      const m = message as { type?: string; model?: { path: string }; feeds?: { dims: number[] }[] };
      if (m.type === 'open' && m.model) sessions.push({ model: m.model.path, batches: [] });
      else if (m.type === 'run') sessions.at(-1)!.batches.push(m.feeds![0]!.dims[0]!);
      channel.postMessage(message);
    });
  },
};

let api: Workbench;
let model: string;

beforeAll(() => {
  const dataDir = tempDataDir('ckawb-runner-work-');
  // A file of its own: no layout or activations cached for it anywhere.
  model = distinctCopy(zoo('plain-d1-s0'), join(dataDir, 'counted.onnx'), 'runner work');
  api = createWorkbench({ dataDir, runnerLauncher: countingLauncher, threads: 1 });
});

afterAll(async () => {
  await api?.close();
  removeTempDataDirs();
});

describe('the runner work of a first run', () => {
  it('calibrates once: the prepare session runs 2 + 3 examples, the extraction session only its batches', async () => {
    await api.openModel({ path: model });
    const spec: ExperimentSpec = {
      name: 'counted',
      kind: 'self',
      models: [{ path: model }],
      probe: 'fashion-mnist:300',
      layers: 'op:Relu',
      measures: ['linear'],
      options: { batchSize: 50 },
    };
    const experiment = await api.createExperiment({ spec });
    const before = sessions.length;
    const details = await runExperimentToEnd(api, experiment.id);
    expect(details.run.status).toBe('done');
    expect(sessions.slice(before)).toEqual([
      // prepare: the calibration batches
      { model, batches: [2, 3] },
      // extraction: the same first batches (now delivered, not checked again), then batches of 50
      { model, batches: [2, 3, 50, 50, 50, 50, 50, 45] },
    ]);
  }, 120_000);
});

describe('opening a probe for a model', () => {
  it('reads the input the file declares, without an onnxruntime session', async () => {
    await api.openModel({ path: model });
    const before = sessions.length;
    const info = await api.openProbe({ spec: 'random:10:3', model });
    expect(info).toMatchObject({ n: 10, exampleShape: [1, 28, 28] });
    expect(sessions.slice(before)).toEqual([]);
  });
});
