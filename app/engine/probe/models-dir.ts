/** Where the shipped models/ folder is (the zoo, the built-in probe), found without loading any probe code. */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's `models/` folder, from the sources (app/engine/probe), the build (dist/app/…) or the CLI bundle (dist/cli). */
export function defaultModelsDir(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const candidates = [
    resolve(here, '../../../models'),
    resolve(here, '../../../../models'),
    resolve(here, '../../models'),
  ];
  return candidates.find((dir) => existsSync(join(dir, 'zoo.json'))) ?? candidates[0]!;
}
