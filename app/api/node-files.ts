/** File writing the shells share with the engine: atomic (a reader never sees half a file). */
export { writeFileAtomic } from '../engine/io/atomic.js';
