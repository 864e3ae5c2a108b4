// Compiles the engine and the Node shells (app/**/*.ts) to dist/app, one JavaScript module per
// source file: the server, the Electron bundles' engine, worker threads and runner processes run
// these files. The CLI (app/cli/bin.mjs) runs dist/cli instead: the same code bundled into a few
// files — its entry, the runner process, the compute and model-reader threads, and the chunks they
// share (lazy imports stay lazy) — because Node resolves and compiles ~230 separate modules of
// ours and ~200 of pure-JavaScript libraries in about 0.25 s, a third of a cached rerun. Every
// entry sits in one folder, so the engine's `new URL('./child.js', import.meta.url)` finds its
// sibling entries in either layout. esbuild only transpiles (types are checked by `npm run
// typecheck`), so a whole build takes about a second; `npm ci` runs it (`prepare`), and the CLI
// runs it again when the sources changed since (see sourceSignature).
//
// Safe while other processes run the build: every file is written to a temporary name and
// renamed into place, identical builds write identical bytes, and the stamp goes last.
import { mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(fileURLToPath(import.meta.url));
export const appDir = join(root, 'app');
export const outDir = join(root, 'dist', 'app');
export const cliOutDir = join(root, 'dist', 'cli');
export const stampFile = join(outDir, '.build-stamp.json');

/**
 * The app's files, in one walk: its TypeScript sources (not tests), which esbuild compiles, and
 * its plain-JavaScript modules (app/api/huge-pages.mjs…), copied into dist/app as they are.
 */
function appFiles(dir = appDir, into = { sources: [], scripts: [] }) {
  for (const item of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, item.name);
    if (item.isDirectory()) appFiles(path, into);
    else if (item.name.endsWith('.mjs')) into.scripts.push(path);
    else if (item.name.endsWith('.ts') && !item.name.endsWith('.test.ts') && !item.name.endsWith('.d.ts')) {
      into.sources.push(path);
    }
  }
  return into;
}

/**
 * What the build was made from, cheaply: the number of source files and the sum of their
 * modification times. Editing, adding, removing or checking out a file changes it; reading ~300
 * directory entries and stats costs a few milliseconds. `files`: a walk the caller already made.
 */
export function sourceSignature({ sources, scripts } = appFiles()) {
  const files = [...sources, ...scripts];
  let mtimes = 0;
  for (const file of files) mtimes += statSync(file).mtimeMs;
  return `${files.length}:${mtimes}`;
}

/** The signature the build in dist/app was made from (null: no build). */
export function builtSignature() {
  try {
    return JSON.parse(readFileSync(stampFile, 'utf8')).signature ?? null;
  } catch {
    return null;
  }
}

function writeAtomic(path, contents) {
  mkdirSync(dirname(path), { recursive: true });
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, contents);
  renameSync(temp, path);
}

/**
 * Removes compiled files whose source is gone (never read, but they should not linger) — in the
 * CLI bundle only once they are `minAgeMs` old: a CLI started before a rebuild may still import
 * its chunks, whose names are content hashes.
 */
function removeOrphans(dir, expected, minAgeMs = 0) {
  let items;
  try {
    items = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const item of items) {
    const path = join(dir, item.name);
    if (item.isDirectory()) removeOrphans(path, expected, minAgeMs);
    else if (/\.js(\.map)?$/.test(item.name) && !expected.has(path) && ageMs(path) >= minAgeMs) {
      rmSync(path, { force: true });
    }
  }
}

function ageMs(path) {
  try {
    return Date.now() - statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

/**
 * zod's classic API re-exports every one of its ~50 message locales as `z.locales` (370 KB, half
 * of the library's bundled size, compiled at each CLI start) though it installs only English and
 * nothing here reads another: in the CLI bundle `z.locales` holds English alone.
 */
const zodEnglishOnly = {
  name: 'zod-english-only',
  setup(b) {
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      args.importer.includes(`${sep}zod${sep}`)
        ? { path: join(dirname(args.importer), '..', 'locales', 'en.js'), namespace: 'zod-locales' }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({
      contents: `export { default as en } from ${JSON.stringify(args.path)};`,
      resolveDir: dirname(args.path),
      loader: 'js',
    }));
  },
};

export async function buildApp() {
  const { build } = await import('esbuild');
  const files = appFiles();
  const signature = sourceSignature(files);
  const { sources: entryPoints, scripts } = files;
  // What both outputs share: ES modules for Node 20, linked source maps, kept in memory until
  // written atomically below.
  const common = {
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: 'linked',
    write: false,
    logLevel: 'error',
    tsconfig: join(root, 'tsconfig.build.json'),
  };
  const result = await build({ ...common, entryPoints, outdir: outDir, outbase: appDir });
  const cli = await build({
    ...common,
    entryPoints: {
      main: join(appDir, 'cli', 'main.ts'),
      child: join(appDir, 'engine', 'runner', 'child.ts'),
      'worker-entry': join(appDir, 'engine', 'compute', 'worker-entry.ts'),
      'model-reader-worker': join(appDir, 'engine', 'onnx', 'model-reader-worker.ts'),
    },
    outdir: cliOutDir,
    bundle: true,
    splitting: true,
    chunkNames: 'shared-[hash]',
    // Native addons, and libraries that start threads from their own files, are loaded from
    // node_modules as they are; pure-JavaScript libraries are bundled (their ~200 modules were a
    // third of the rest of a cached rerun's start).
    external: ['onnxruntime-node', 'better-sqlite3', 'sharp', 'piscina', 'tsx', 'esbuild'],
    plugins: [zodEnglishOnly],
    // CommonJS libraries bundled into ES modules still call require() for Node's built-ins.
    banner: {
      js: "import { createRequire as __cliRequire } from 'node:module'; const require = __cliRequire(import.meta.url);",
    },
  });
  const expected = new Set();
  for (const file of [...result.outputFiles, ...cli.outputFiles]) {
    expected.add(file.path);
    writeAtomic(file.path, file.contents);
  }
  // The compiled modules import these by their own names (the server: ../api/huge-pages.mjs).
  for (const script of scripts) writeAtomic(join(outDir, relative(appDir, script)), readFileSync(script));
  removeOrphans(outDir, expected);
  removeOrphans(cliOutDir, expected, 10 * 60_000);
  writeAtomic(stampFile, `${JSON.stringify({ signature, files: entryPoints.length })}\n`);
  return { files: entryPoints.length, outDir: relative(root, outDir), cliFiles: cli.outputFiles.length };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    await import('esbuild');
  } catch {
    // An install without dev dependencies: it runs a build made elsewhere (a package), nothing to do.
    console.log('esbuild is not installed: dist/app was not built');
    process.exit(0);
  }
  const t0 = performance.now();
  const { files, outDir: out, cliFiles } = await buildApp();
  console.log(
    `${out}: ${files} modules, ${relative(root, cliOutDir)}: ${cliFiles} files in ${Math.round(performance.now() - t0)} ms`,
  );
}
