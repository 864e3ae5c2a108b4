// Worker bootstrap for a source checkout: loads the TypeScript model reader through tsx (worker
// threads do not inherit the parent's loader). Compiled builds run model-reader-worker.js directly.
import { register } from 'tsx/esm/api';

register();
await import(new URL('./model-reader-worker.ts', import.meta.url).href);
