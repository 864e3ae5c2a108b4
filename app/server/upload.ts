/**
 * Model upload for the browser UI (it cannot hand us a file path): the body is streamed into the
 * app's own upload directory under its sha256, so the same file uploaded twice is stored once,
 * with a record of the user's file name beside it (api/uploads.ts). Errors name the user's file.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, promises as fs } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { WorkbenchError } from '../common/errors.js';
import { writeUploadRecord } from '../api/uploads.js';

const MAX_UPLOAD_BYTES = 2 ** 31 - 1;

/** A file name safe to put on disk: no directories, no leading dots, limited characters. */
export function safeFileName(name: string): string {
  const base = basename(name.replace(/\\/g, '/'))
    .replace(/[^A-Za-z0-9._-]/g, '_')
    .replace(/^\.+/, '');
  return (base || 'model.onnx').slice(0, 120);
}

/** The user's file name as sent (no folders; control characters dropped), for messages and the library. */
function userFileName(name: string): string {
  // eslint-disable-next-line no-control-regex
  const base = basename(name.replace(/\\/g, '/')).replace(/[\u0000-\u001f\u007f]/g, '');
  return (base || 'model.onnx').slice(0, 255);
}

export async function receiveUpload(req: IncomingMessage, uploadDir: string, name: string): Promise<string> {
  const userName = userFileName(name);
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > MAX_UPLOAD_BYTES) {
    throw new WorkbenchError('BAD_INPUT', `${userName}: ${declared} bytes is larger than the 2 GiB upload limit`);
  }
  await fs.mkdir(uploadDir, { recursive: true });
  const temp = join(uploadDir, `.upload-${randomBytes(6).toString('hex')}.tmp`);
  const hash = createHash('sha256');
  let size = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      size += chunk.length;
      if (size > MAX_UPLOAD_BYTES)
        return callback(new WorkbenchError('BAD_INPUT', `${userName}: larger than the 2 GiB upload limit`));
      hash.update(chunk);
      callback(null, chunk);
    },
  });
  try {
    await pipeline(req, meter, createWriteStream(temp));
    if (size === 0) throw new WorkbenchError('BAD_INPUT', `${userName}: the uploaded file is empty`);
    const dir = join(uploadDir, hash.digest('hex').slice(0, 16));
    await fs.mkdir(dir, { recursive: true });
    const target = join(dir, safeFileName(name));
    await fs.rename(temp, target);
    await writeUploadRecord(target, userName);
    return target;
  } finally {
    await fs.rm(temp, { force: true });
  }
}
