#!/usr/bin/env node
// The `cka-workbench` command: runs the bundled JavaScript under dist/cli. In a checkout whose
// sources changed since that build (or that was never built), it builds first — esbuild, well
// under a second (esbuild.app.mjs) — and only when that cannot be done does it run the TypeScript
// sources through tsx (a development fallback, ~1.5 s slower per start).
// CKA_WORKBENCH_FROM_SOURCES=1 runs the sources through tsx anyway. On Linux, `compare` first
// starts itself again with huge pages for malloc (../api/huge-pages.mjs).
import { existsSync } from 'node:fs';
import { followParent, relaunch, relaunchEnv } from '../api/huge-pages.mjs';

const compiled = new URL('../../dist/cli/main.js', import.meta.url);
const source = new URL('./main.ts', import.meta.url);
const builder = new URL('../../esbuild.app.mjs', import.meta.url);

async function fromSources(why) {
  try {
    const { register } = await import('tsx/esm/api');
    register();
  } catch {
    console.error(`cka-workbench: error: ${why}, and tsx is not installed to run the sources`);
    process.exit(1);
  }
  await import(source.href);
}

/** In a checkout: whether the build is missing or older than the sources, rebuilding it if so. Null when it is fresh. */
async function rebuildProblem() {
  const { sourceSignature, builtSignature, buildApp } = await import(builder.href);
  if (builtSignature() === sourceSignature()) return null;
  try {
    await buildApp();
    return null;
  } catch (err) {
    return `the build failed (${String(err?.message ?? err).split('\n')[0]})`;
  }
}

async function run() {
  const checkout = existsSync(source) && existsSync(builder);
  if (checkout && process.env.CKA_WORKBENCH_FROM_SOURCES === '1') {
    await fromSources('CKA_WORKBENCH_FROM_SOURCES=1');
    return;
  }
  const problem = checkout ? await rebuildProblem() : null;
  if (problem !== null) {
    process.stderr.write(`cka-workbench: ${problem}; running the sources through tsx\n`);
    await fromSources(problem);
  } else if (existsSync(compiled)) {
    await import(compiled.href);
  } else {
    console.error('cka-workbench: error: the CLI is not built; run `npm run build:app` first');
    process.exit(1);
  }
}

const relaunchWith = relaunchEnv(process.argv.slice(2), process.env);
if (relaunchWith) {
  relaunch(relaunchWith);
} else {
  followParent();
  await run();
}
