import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const fixturesDir = fileURLToPath(new URL('../fixtures/', import.meta.url));
export const rendererDist = fileURLToPath(new URL('../../dist/renderer/', import.meta.url));
export const cliBin = fileURLToPath(new URL('../../app/cli/bin.mjs', import.meta.url));
export const tinyCnn = fileURLToPath(new URL('../fixtures/models/tiny_cnn.onnx', import.meta.url));
