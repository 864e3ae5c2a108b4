import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // The renderer's alias for the bottom layer (vite.config.ts), for tests of its pure modules.
  resolve: { alias: { '@common': fileURLToPath(new URL('./app/common', import.meta.url)) } },
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    globalSetup: ['test/helpers/global-tmpdir.ts'],
    // The engine spawns worker threads and child processes of its own; vitest's forks keep
    // native modules (onnxruntime-node, better-sqlite3) out of shared worker threads.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // 2-core machines: run files one or two at a time so timing-sensitive code is not starved.
    maxWorkers: 2,
  },
});
