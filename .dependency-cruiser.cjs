/**
 * Import rules of the architecture (ARCHITECTURE.md): layers import downwards only, and neither
 * files nor folders form cycles.
 *
 *   renderer ─────────────────────────┐
 *   shells: app/cli, app/server, main ┤→ app/common
 *   app/api ──→ app/engine ───────────┘
 *
 * - app/common imports nothing outside itself (no npm packages, no Node built-ins either);
 * - app/engine imports only app/common (and npm packages, never Electron or the views'); inside
 *   it, cka/ (the math) imports nothing else, compute/ (worker threads) imports cka/, and
 *   similarity/ (the CKA engine) drives both;
 * - app/api imports the engine and app/common;
 * - the shells import app/api and app/common, never the engine nor each other;
 * - the renderer imports only app/common.
 */
module.exports = {
  forbidden: [
    { name: 'no-cycles', severity: 'error', from: {}, to: { circular: true } },
    {
      name: 'no-folder-cycles',
      comment: 'Two folders that import each other are one module cut in two: merge them or split the shared part out.',
      severity: 'error',
      scope: 'folder',
      from: {},
      to: { circular: true },
    },
    {
      name: 'common-imports-nothing',
      severity: 'error',
      from: { path: '^app/common/' },
      to: { pathNot: '^app/common/' },
    },
    {
      name: 'engine-imports-only-common',
      severity: 'error',
      from: { path: '^app/engine/' },
      to: { path: '^(app/(api|cli|server)|main|renderer)/' },
    },
    {
      name: 'cka-is-pure-math',
      comment: 'cka/ holds the formulas: no threads, files, onnxruntime or other engine folders.',
      severity: 'error',
      from: { path: '^app/engine/cka/' },
      to: { pathNot: '^app/(engine/cka|common)/' },
    },
    {
      name: 'compute-is-below-the-similarity-engine',
      severity: 'error',
      from: { path: '^app/engine/compute/' },
      to: { path: '^app/engine/(similarity|experiments|activations|store)/' },
    },
    {
      name: 'api-imports-engine-and-common',
      severity: 'error',
      from: { path: '^app/api/' },
      to: { path: '^(app/(cli|server)|main|renderer)/' },
    },
    {
      name: 'shells-import-api-and-common',
      severity: 'error',
      from: { path: '^(app/(cli|server)|main)/' },
      to: { path: '^(app/engine|renderer)/' },
    },
    {
      name: 'shells-are-separate',
      severity: 'error',
      from: { path: '^app/cli/' },
      to: { path: '^(app/server|main)/' },
    },
    {
      name: 'server-is-its-own-shell',
      severity: 'error',
      from: { path: '^app/server/' },
      to: { path: '^(app/cli|main)/' },
    },
    {
      name: 'electron-shell-is-its-own-shell',
      severity: 'error',
      from: { path: '^main/' },
      to: { path: '^app/(cli|server)/' },
    },
    {
      name: 'renderer-imports-only-common',
      severity: 'error',
      from: { path: '^renderer/' },
      to: { path: '^(app|main)/', pathNot: '^app/common/' },
    },
    {
      name: 'app-has-no-ui-deps',
      severity: 'error',
      from: { path: '^app/' },
      to: { path: 'node_modules/(electron|svelte|chart\\.js|chartjs-chart-matrix)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.mjs', '.svelte'] },
    exclude: { path: '(^|/)(dist|node_modules)/' },
  },
};
