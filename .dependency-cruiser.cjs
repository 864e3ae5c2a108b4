/**
 * Import rules of the architecture (../shared/ARCHITECTURE.md): one direction, no cycles.
 * renderer → API types only; shells (main/, app/server, app/cli) → app/; app/ never imports a
 * shell, Electron, Svelte or the server.
 */
module.exports = {
  forbidden: [
    { name: 'no-cycles', severity: 'error', from: {}, to: { circular: true } },
    {
      name: 'renderer-sees-only-api-types',
      severity: 'error',
      from: { path: '^renderer/' },
      to: { path: '^(app|main)/', pathNot: '^app/api/contract\\.ts$' },
    },
    {
      name: 'engine-is-not-a-shell',
      severity: 'error',
      from: { path: '^app/(engine|api)/' },
      to: { path: '^(main|renderer)/|^app/(server|cli)/' },
    },
    {
      name: 'engine-has-no-ui-deps',
      severity: 'error',
      from: { path: '^app/' },
      to: { path: 'node_modules/(electron|svelte|chart\\.js|chartjs-chart-matrix)/' },
    },
    {
      name: 'server-and-cli-are-separate-shells',
      severity: 'error',
      from: { path: '^app/server/' },
      to: { path: '^app/cli/', pathNot: '^app/cli/output\\.ts$' },
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
