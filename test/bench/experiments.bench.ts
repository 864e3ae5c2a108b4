/**
 * `npm run bench -- experiments`: what the cache saves. The two CKA presets on the shipped zoo (the
 * seeds sanity check: 5 seeds × 3 ReLU layers, linear + RBF CKA; the depth family: depths 1, 2, 4
 * and 8 × their ReLU layers, linear CKA; fashion-mnist:1000), each run
 *
 *   first         in a fresh data directory (extraction, Grams, comparisons; runner and pool start)
 *   again         the same experiment again in the same app session
 *   again, new    the same again after the app restarted (a new workbench on the same data directory)
 *
 * and the seeds check grown by one model (4 seeds run, then the 5th added) against running the 5
 * from nothing. Target: again / first ≤ 0.1. EXPERIMENTS_BENCH_PROBE overrides the probe.
 */
import { rmSync } from 'node:fs';
import type { ExperimentSpec } from '../../app/common/contract.js';
import { createWorkbench, type Workbench } from '../../app/api/workbench.js';
import { runExperimentToEnd, tempDataDir } from '../helpers/experiments.js';

interface Timed {
  ms: number;
  work: string;
}

async function timedRun(api: Workbench, experimentId: string): Promise<Timed> {
  const t0 = performance.now();
  const details = await runExperimentToEnd(api, experimentId);
  const ms = performance.now() - t0;
  if (details.run.status !== 'done') throw new Error(`run ${details.run.status}: ${details.run.error?.message}`);
  const w = details.result!.provenance.work!;
  return {
    ms,
    work: `layers extracted ${w.activationsExtracted}; Grams computed ${w.gramsComputed}, reused ${w.gramsReused}; pairs computed ${w.pairsComputed}, reused ${w.pairsReused}`,
  };
}

async function create(api: Workbench, spec: ExperimentSpec): Promise<string> {
  for (const m of spec.models) await api.openModel({ path: m.path });
  return (await api.createExperiment({ spec })).id;
}

function row(label: string, t: Timed, first?: number): string {
  const ratio = first === undefined ? '' : (t.ms / first).toFixed(3);
  return `${label.padEnd(34)} ${(t.ms / 1000).toFixed(2).padStart(8)} s  ${ratio.padStart(6)}  ${t.work}`;
}

async function benchPreset(spec: ExperimentSpec): Promise<void> {
  const dataDir = tempDataDir('ckawb-bench-');
  try {
    let api = createWorkbench({ dataDir });
    const id = await create(api, spec);
    const first = await timedRun(api, id);
    const again = await timedRun(api, id);
    await api.close();
    api = createWorkbench({ dataDir });
    const restarted = await timedRun(api, id);
    await api.close();
    console.log(
      `\n${spec.name}: ${spec.models.length} models, ${spec.probe}, ${spec.layers}, ${spec.measures.join(' + ')}`,
    );
    console.log(`${'run'.padEnd(34)} ${'time'.padStart(10)}  ${'ratio'.padStart(6)}  work`);
    console.log(row('first (fresh data directory)', first));
    console.log(row('again (same session)', again, first.ms));
    console.log(row('again (app restarted)', restarted, first.ms));
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function benchAddModel(spec: ExperimentSpec): Promise<void> {
  const grownDir = tempDataDir('ckawb-bench-');
  const coldDir = tempDataDir('ckawb-bench-');
  try {
    let api = createWorkbench({ dataDir: grownDir });
    const id = await create(api, { ...spec, models: spec.models.slice(0, -1) });
    await timedRun(api, id);
    await api.updateExperiment({ experimentId: id, spec });
    await api.openModel({ path: spec.models.at(-1)!.path });
    const grown = await timedRun(api, id);
    await api.close();
    api = createWorkbench({ dataDir: coldDir });
    const cold = await timedRun(api, await create(api, spec));
    await api.close();
    console.log(`\n${spec.name}: one model added to a finished run of ${spec.models.length - 1}`);
    console.log(row(`all ${spec.models.length} from nothing`, cold));
    console.log(row('the added model only', grown, cold.ms));
  } finally {
    rmSync(grownDir, { recursive: true, force: true });
    rmSync(coldDir, { recursive: true, force: true });
  }
}

export default async function main(): Promise<void> {
  const listDir = tempDataDir('ckawb-bench-');
  const lister = createWorkbench({ dataDir: listDir });
  const presets = await lister.listPresets({});
  await lister.close();
  rmSync(listDir, { recursive: true, force: true });
  const probe = process.env.EXPERIMENTS_BENCH_PROBE;
  for (const preset of presets) {
    if (preset.id === 'seeds-baselines') {
      // minutes of SVDs a run; `npm run bench -- cka` measures the baselines against CKA
      console.log(`${preset.title}: not run here (see npm run bench -- cka)`);
      continue;
    }
    if (!preset.available) {
      console.log(`${preset.title}: skipped, missing ${preset.missing.join(', ')}`);
      continue;
    }
    const spec = probe ? { ...preset.spec, probe } : preset.spec;
    await benchPreset(spec);
    if (preset.id === 'seeds-sanity') await benchAddModel(spec);
  }
}
