/**
 * Reading a small file a probe needs whole (a tokenizer.json, its config, a text probe, a
 * preprocessor config) as bytes, text or JSON, through io/regular-file.ts: regular files only (no
 * FIFOs, devices or folders, which could block or never end), at most `maxBytes`.
 */
import { WorkbenchError } from '../../common/errors.js';
import { readRegularFile } from '../io/regular-file.js';

/** The whole file, through the engine's one checked door (io/regular-file.ts); a missing file is named with what it is. */
export async function readLocalFile(path: string, what: string, maxBytes: number): Promise<Buffer> {
  try {
    return (await readRegularFile(path, { what, maxBytes })).bytes;
  } catch (err) {
    if (err instanceof WorkbenchError && err.code === 'NOT_FOUND') {
      throw new WorkbenchError('NOT_FOUND', `${what} ${path}: no such file`);
    }
    throw err;
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
