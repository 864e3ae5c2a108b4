/**
 * Names for the models in `cache info` that the library never opened (a CLI `compare` or a run's
 * spec names files without opening them in the app): the file name the model's activations were
 * last extracted from, as the extract directory's manifest (activations/SHA/PROBE/manifest.json)
 * records it.
 */
import { promises as fs } from 'node:fs';
import { basename, join } from 'node:path';
import type { CacheInfo } from '../../common/contract.js';

async function manifestModelName(dir: string): Promise<string | undefined> {
  let probes: string[];
  try {
    probes = await fs.readdir(dir);
  } catch {
    return undefined;
  }
  let newest: { at: number; name: string } | undefined;
  for (const probe of probes) {
    const file = join(dir, probe, 'manifest.json');
    try {
      const [text, stats] = await Promise.all([fs.readFile(file, 'utf8'), fs.stat(file)]);
      const path = (JSON.parse(text) as { model?: { path?: unknown } }).model?.path;
      if (typeof path === 'string' && (!newest || stats.mtimeMs > newest.at)) {
        newest = { at: stats.mtimeMs, name: basename(path) };
      }
    } catch {
      // Not an extract directory, or one being written: no name from it.
    }
  }
  return newest?.name;
}

/** `info` with a name for every model the activation cache's manifests can name. */
export async function nameCachedModels(info: CacheInfo, activationsDir: string): Promise<CacheInfo> {
  const byModel = await Promise.all(
    info.byModel.map(async (m) => {
      if (m.name !== undefined) return m;
      const name = await manifestModelName(join(activationsDir, m.modelSha256));
      return name !== undefined ? { ...m, name } : m;
    }),
  );
  return { ...info, byModel };
}
