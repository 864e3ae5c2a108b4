/**
 * What people call runs and write on them: names unique in the history ("name (2)" for a new
 * run whose name is taken), tags to group them, and a note. SQL helpers of the history store,
 * run inside its transactions.
 */
import { WorkbenchError } from '../../common/errors.js';
import type { Db } from './database.js';

/** A tag: what people type to group runs, kept short and free of separators. */
export const TAG_PATTERN = /^[^\s,]{1,40}$/;
export const MAX_TAGS = 32;
export const MAX_NOTE_LENGTH = 4000;
/** The longest name of an experiment or a run (after trimming). */
export const MAX_NAME_LENGTH = 200;

/** `name`, or `name (k)` with the smallest k ≥ 2 that no run has. */
export function freeRunName(db: Db, name: string): string {
  const taken = (candidate: string) => db.prepare('SELECT 1 FROM runs WHERE name = ?').get(candidate) !== undefined;
  if (!taken(name)) return name;
  // The next of a run named "name (2)" is "name (3)", not "name (2) (2)".
  const base = /^(.*) \((\d+)\)$/.exec(name)?.[1] ?? name;
  for (let k = 2; ; k++) if (!taken(`${base} (${k})`)) return `${base} (${k})`;
}

/** BAD_INPUT when a run other than `id` is called `name`. */
export function refuseTakenName(db: Db, name: string, id: string): void {
  const other = db.prepare('SELECT id FROM runs WHERE name = ? AND id != ?').get(name, id) as
    { id: string } | undefined;
  if (other) {
    throw new WorkbenchError(
      'BAD_INPUT',
      `another run is called '${name}' (${other.id}): names tell runs apart, choose another`,
    );
  }
}

/** Replaces the run's tags by its current ones with `change` applied. */
export function writeTags(
  db: Db,
  run: { id: string; tags: readonly string[] },
  change: { add?: readonly string[]; remove?: readonly string[] },
): void {
  for (const tag of [...(change.add ?? []), ...(change.remove ?? [])]) {
    if (!TAG_PATTERN.test(tag)) {
      throw new WorkbenchError('BAD_INPUT', `'${tag}' is not a tag: 1–40 characters, no spaces or commas`);
    }
  }
  const tags = new Set(run.tags);
  for (const tag of change.remove ?? []) tags.delete(tag);
  for (const tag of change.add ?? []) tags.add(tag);
  if (tags.size > MAX_TAGS) {
    throw new WorkbenchError('BAD_INPUT', `a run has at most ${MAX_TAGS} tags; ${run.id} would have ${tags.size}`);
  }
  db.prepare('DELETE FROM run_tags WHERE run_id = ?').run(run.id);
  const insert = db.prepare('INSERT INTO run_tags (run_id, tag) VALUES (?, ?)');
  for (const tag of tags) insert.run(run.id, tag);
}

export function checkNote(note: string): void {
  if (note.length > MAX_NOTE_LENGTH) {
    throw new WorkbenchError('BAD_INPUT', `a note has at most ${MAX_NOTE_LENGTH} characters, this one ${note.length}`);
  }
}
