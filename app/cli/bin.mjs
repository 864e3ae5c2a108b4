#!/usr/bin/env node
// The `cka-workbench` command. In a checkout (tsx installed) it runs the TypeScript sources; in a
// built install it runs the compiled JavaScript under dist/.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const source = new URL('./main.ts', import.meta.url);
const compiled = new URL('../../dist/app/cli/main.js', import.meta.url);

async function tsxAvailable() {
  try {
    const { register } = await import('tsx/esm/api');
    register();
    return true;
  } catch {
    return false;
  }
}

if (existsSync(fileURLToPath(source)) && (await tsxAvailable())) {
  await import(source.href);
} else if (existsSync(fileURLToPath(compiled))) {
  await import(compiled.href);
} else {
  console.error('cka-workbench: error: the CLI is not built; run `npm run build` first');
  process.exit(1);
}
