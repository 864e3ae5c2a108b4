/**
 * The sha256 of files the user names (models, probe data, tokenizers), remembered across processes
 * by the file's identity (io/file-hash.ts `fileIdentity`: device, inode, size, modification and
 * change times, as git's index keeps them), so a repeated command stats a large model instead of
 * reading it again. A file changed within the last two seconds is hashed but not remembered.
 */
import { createHash } from 'node:crypto';
import { fileIdentity, SETTLED_AFTER_MS } from '../io/file-hash.js';
import { FILE_SIZE_LIMITS, hashOpenedFile, openRegularFile } from '../io/regular-file.js';
import { withoutWaiting, type Db } from './database.js';

export class FileDigests {
  constructor(
    private readonly db: Db,
    /** A file whose last change is younger than this is not remembered (tests shorten it). */
    private readonly settledMs = SETTLED_AFTER_MS,
  ) {}

  /** The file's sha256 as lowercase hex (BAD_INPUT for what is not a regular file; see regular-file.ts). */
  async sha256(path: string): Promise<string> {
    const file = await openRegularFile(path, { maxBytes: FILE_SIZE_LIMITS.array });
    try {
      const { stamp, settled } = await fileIdentity(file, this.settledMs);
      const known = this.db
        .prepare('SELECT sha256 FROM file_digests WHERE path = ? AND stamp = ?')
        .get(file.realPath, stamp) as { sha256: string } | undefined;
      if (known) return known.sha256;
      const hash = createHash('sha256');
      await hashOpenedFile(hash, file);
      const digest = hash.digest('hex');
      if (settled) this.remember(file.realPath, stamp, digest);
      return digest;
    } finally {
      await file.close();
    }
  }

  private remember(path: string, stamp: string, sha256: string): void {
    try {
      withoutWaiting(this.db, () =>
        this.db
          .prepare(
            `INSERT INTO file_digests (path, stamp, sha256) VALUES (?, ?, ?)
             ON CONFLICT (path) DO UPDATE SET stamp = excluded.stamp, sha256 = excluded.sha256`,
          )
          .run(path, stamp, sha256),
      );
    } catch {
      // Remembering is a courtesy: another process holding the database only costs a hash next time.
    }
  }
}
