// Worker bootstrap for a source checkout: loads the TypeScript worker entry through tsx (worker
// threads do not inherit the parent's loader). Compiled builds run worker-entry.js directly.
import { register } from 'tsx/esm/api';

register();
const entry = await import(new URL('./worker-entry.ts', import.meta.url).href);
export default entry.default;
