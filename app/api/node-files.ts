/** File reading and writing the shells share with the engine. */
/** Atomic writes: a reader never sees half a file. */
export { writeFileAtomic } from '../engine/io/atomic.js';
/** Reading a file a person named: a regular file of bounded size only (never a FIFO or a device). */
export { FILE_SIZE_LIMITS, readRegularText } from '../engine/io/regular-file.js';
