/**
 * Reading a small file a probe needs whole (a tokenizer.json, its config, a text probe): regular
 * files only (no FIFOs, devices or folders, which could block or never end), at most `maxBytes`.
 * One function, so that reads of user-named files go through one checked door.
 */
import { constants, promises as fs } from 'node:fs';
import { WorkbenchError } from '../../common/errors.js';

export async function readLocalFile(path: string, what: string, maxBytes: number): Promise<Buffer> {
  let handle;
  try {
    // O_NONBLOCK: opening a FIFO must not wait for a writer; the fstat below then refuses it.
    handle = await fs.open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ENOENT') throw new WorkbenchError('NOT_FOUND', `${what} ${path}: no such file`);
    if (code === 'EISDIR') throw new WorkbenchError('BAD_PROBE', `${what} ${path} is a folder, not a file`);
    throw new WorkbenchError('BAD_PROBE', `${what} ${path}: cannot be opened (${code ?? String(err)})`);
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new WorkbenchError('BAD_PROBE', `${what} ${path} is not a regular file`);
    if (stat.size > maxBytes) {
      throw new WorkbenchError(
        'BAD_PROBE',
        `${what} ${path} is ${formatMiB(stat.size)}; the workbench reads at most ${formatMiB(maxBytes)} of it`,
      );
    }
    const bytes = Buffer.alloc(stat.size);
    let done = 0;
    while (done < bytes.length) {
      const { bytesRead } = await handle.read(bytes, done, bytes.length - done, done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return bytes.subarray(0, done);
  } finally {
    await handle.close();
  }
}

/** A file's text as UTF-8 (a leading byte-order mark dropped); invalid UTF-8 is an error naming the file. */
export async function readLocalText(path: string, what: string, maxBytes: number): Promise<string> {
  const bytes = await readLocalFile(path, what, maxBytes);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new WorkbenchError('BAD_PROBE', `${what} ${path} is not UTF-8 text`);
  }
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** A file's JSON; malformed JSON is an error naming the file. */
export async function readLocalJson(path: string, what: string, maxBytes: number): Promise<unknown> {
  const text = await readLocalText(path, what, maxBytes);
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new WorkbenchError('BAD_PROBE', `${what} ${path} is not valid JSON (${(err as Error).message})`);
  }
}

function formatMiB(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}
