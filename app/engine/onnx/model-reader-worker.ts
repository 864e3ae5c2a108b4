/**
 * The model reader's thread (see ./model-reader.ts): reads, hashes and decodes one model file per
 * request and posts back its facts and weightless structure (transferred, not copied).
 */
import { parentPort } from 'node:worker_threads';
import { toErrorData } from '../../common/errors.js';
import { readModelStructure } from './model-structure.js';

export interface ReadRequest {
  id: number;
  path: string;
}

if (!parentPort) throw new Error('the model reader runs as a worker thread');
const port = parentPort;
port.on('message', (request: ReadRequest) => {
  readModelStructure(request.path).then(
    (read) => port.postMessage({ id: request.id, ok: true, value: read }, [read.structure.buffer as ArrayBuffer]),
    (err: unknown) => port.postMessage({ id: request.id, ok: false, error: toErrorData(err) }),
  );
});
