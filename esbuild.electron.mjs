// Bundles the Electron shell: main (ESM) and the sandboxed preload (one CommonJS file, since a
// sandboxed preload cannot import modules). Native modules stay external and are unpacked from
// asar by electron-builder.
import { build } from 'esbuild';

const external = ['electron', 'onnxruntime-node', 'better-sqlite3', 'sharp'];
const common = { bundle: true, platform: 'node', target: 'node20', sourcemap: true, logLevel: 'warning', external };

await build({
  ...common,
  entryPoints: ['main/main.ts'],
  outfile: 'dist/main/main.js',
  format: 'esm',
  // Bundled CommonJS dependencies may call require(); give the ESM bundle one.
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
});
await build({ ...common, entryPoints: ['main/preload.ts'], outfile: 'dist/main/preload.cjs', format: 'cjs' });
