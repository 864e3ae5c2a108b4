/**
 * The files the user opened (models and probe sets), kept across sessions: they are the "recent"
 * lists of the UI (newest first; ties by path, so the order is the same on every read) and the
 * paths the file-access policy allows.
 */
import type { Db } from './database.js';

export type LibraryKind = 'model' | 'probe';

export interface LibraryItem {
  /** Canonical (real) path. */
  path: string;
  kind: LibraryKind;
  sha256: string | null;
  sizeBytes: number | null;
  /** Kind-specific facts (a probe's spec, n and hash). */
  detail: Record<string, unknown>;
  openedAt: string;
}

interface Row {
  path: string;
  kind: LibraryKind;
  sha256: string | null;
  size_bytes: number | null;
  detail_json: string | null;
  opened_at: string;
}

export class LibraryStore {
  constructor(private readonly db: Db) {}

  remember(item: Omit<LibraryItem, 'openedAt'>): void {
    this.db
      .prepare(
        `INSERT INTO library (path, kind, sha256, size_bytes, detail_json, opened_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (path) DO UPDATE SET kind = excluded.kind, sha256 = excluded.sha256,
           size_bytes = excluded.size_bytes, detail_json = excluded.detail_json, opened_at = excluded.opened_at`,
      )
      .run(item.path, item.kind, item.sha256, item.sizeBytes, JSON.stringify(item.detail), new Date().toISOString());
  }

  list(kind?: LibraryKind): LibraryItem[] {
    const rows = (
      kind
        ? this.db.prepare('SELECT * FROM library WHERE kind = ? ORDER BY opened_at DESC, path').all(kind)
        : this.db.prepare('SELECT * FROM library ORDER BY opened_at DESC, path').all()
    ) as Row[];
    return rows.map((r) => ({
      path: r.path,
      kind: r.kind,
      sha256: r.sha256,
      sizeBytes: r.size_bytes,
      detail: r.detail_json ? (JSON.parse(r.detail_json) as Record<string, unknown>) : {},
      openedAt: r.opened_at,
    }));
  }

  /**
   * Forgets a file: the row of `path` and every row of the same kind with the same content
   * (`sha256`), so a model opened under several paths leaves the list at once. Returns the rows gone.
   */
  forget(kind: LibraryKind, path: string, sha256: string | null): number {
    return sha256
      ? this.db.prepare('DELETE FROM library WHERE kind = ? AND (path = ? OR sha256 = ?)').run(kind, path, sha256)
          .changes
      : this.db.prepare('DELETE FROM library WHERE kind = ? AND path = ?').run(kind, path).changes;
  }

  /**
   * Files used again (a repeated run: repeat-api.ts) move to the top of the recent lists, as
   * opening them would; paths never opened stay out. One time for all: ties list by path.
   */
  touch(paths: readonly string[]): void {
    const now = new Date().toISOString();
    const update = this.db.prepare('UPDATE library SET opened_at = ? WHERE path = ?');
    this.db.transaction(() => {
      for (const path of paths) update.run(now, path);
    })();
  }

  has(path: string, kind?: LibraryKind): boolean {
    const row = kind
      ? this.db.prepare('SELECT 1 FROM library WHERE path = ? AND kind = ?').get(path, kind)
      : this.db.prepare('SELECT 1 FROM library WHERE path = ?').get(path);
    return row !== undefined;
  }
}
