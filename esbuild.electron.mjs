// Bundles the Electron shell: main and the engine host (ESM), and the sandboxed preload (one
// CommonJS file, since a sandboxed preload cannot import modules). The engine itself is not
// bundled: imports of app/ stay imports of the compiled dist/app (tsc), whose worker threads and
// runner processes find their entry files next to their own modules. Native modules stay external
// and are unpacked from asar by electron-builder.
import { build } from 'esbuild';
import { relative, resolve } from 'node:path';

const external = ['electron', 'onnxruntime-node', 'better-sqlite3', 'sharp'];
const common = { bundle: true, platform: 'node', target: 'node20', sourcemap: true, logLevel: 'warning', external };

/** `../app/x/y.js` imported from main/ → `../app/x/y.js` from dist/main/, i.e. dist/app/x/y.js. */
const engineStaysOutside = {
  name: 'engine-stays-outside',
  setup(build) {
    build.onResolve({ filter: /(^|\/)app\// }, (args) => {
      const target = resolve(args.resolveDir, args.path);
      const fromRoot = relative(resolve('app'), target);
      if (fromRoot.startsWith('..')) return undefined;
      return { path: `../app/${fromRoot.split('\\').join('/')}`, external: true };
    });
  },
};

const banner = {
  // Bundled CommonJS dependencies may call require(); give the ESM bundles one.
  js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
};

await build({
  ...common,
  entryPoints: ['main/main.ts', 'main/engine-host.ts'],
  outdir: 'dist/main',
  format: 'esm',
  banner,
  plugins: [engineStaysOutside],
});
await build({ ...common, entryPoints: ['main/preload.ts'], outfile: 'dist/main/preload.cjs', format: 'cjs' });
