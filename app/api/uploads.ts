/**
 * Models uploaded through the browser live in the data directory under a content hash, as
 * `uploads/<sha256 prefix>/<safe file name>`. Next to each copy a small record keeps the name the
 * user's file had, so the library lists it under that name and errors about it name the user's
 * file, not the copy.
 */
import { promises as fs } from 'node:fs';
import { writeFileAtomic } from '../engine/io/atomic.js';

export interface UploadRecord {
  /** The file name as the user's browser gave it. */
  name: string;
  uploadedAt: string;
}

const recordPath = (copy: string) => `${copy}.upload.json`;

export async function writeUploadRecord(copy: string, name: string): Promise<void> {
  const record: UploadRecord = { name, uploadedAt: new Date().toISOString() };
  await writeFileAtomic(recordPath(copy), `${JSON.stringify(record)}\n`);
}

/** The record of an uploaded copy, or null for any other file (or an unreadable record). */
export async function readUploadRecord(path: string): Promise<UploadRecord | null> {
  try {
    const value = JSON.parse(await fs.readFile(recordPath(path), 'utf8')) as Partial<UploadRecord>;
    if (typeof value.name !== 'string' || value.name === '' || value.name.length > 1000) return null;
    return { name: value.name, uploadedAt: typeof value.uploadedAt === 'string' ? value.uploadedAt : '' };
  } catch {
    return null;
  }
}

/** How people know an uploaded copy: "notes.onnx (uploaded)". */
export function uploadedName(record: UploadRecord): string {
  return `${record.name} (uploaded)`;
}
