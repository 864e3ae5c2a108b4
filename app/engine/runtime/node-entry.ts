/**
 * Entry points for worker threads and child processes. Compiled builds run `x.js`; a checkout
 * (tests, `npm run serve`, the CLI via tsx) runs `x.ts`, which needs the tsx loader in the child.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface NodeEntry {
  /** Absolute path of the file to run. */
  file: string;
  /** Extra Node options the child needs to run it (the TypeScript loader for `.ts`). */
  execArgv: string[];
}

/** Resolves `relative` (written as `./name.js`) against the calling module's `import.meta.url`. */
export function resolveNodeEntry(moduleUrl: string, relative: string): NodeEntry {
  const js = fileURLToPath(new URL(relative, moduleUrl));
  if (existsSync(js)) return { file: js, execArgv: [] };
  const ts = js.replace(/\.js$/, '.ts');
  // An absolute URL: a bare `tsx` would be resolved from the child's working directory, which
  // need not be inside this checkout.
  if (existsSync(ts)) return { file: ts, execArgv: ['--import', import.meta.resolve('tsx')] };
  throw new Error(`entry point ${relative} not found next to ${fileURLToPath(moduleUrl)}`);
}
