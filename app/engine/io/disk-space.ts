/**
 * Is there room for what a piece of work will write? Checked before a run or an extraction starts,
 * so that one that cannot fit is refused with one line in its first second, instead of failing
 * with a full disk after an hour (or filling the disk other programs need).
 */
import { promises as fs } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { WorkbenchError } from '../../common/errors.js';
import { formatSize } from '../../common/sizes.js';

/** Left free beyond the estimate: the database, manifests and metadata the estimate does not count. */
export const HEADROOM_BYTES = 64 * 2 ** 20;

/** What a piece of work will write: its bytes, and in words for the refusal ("activations of 3 layers (1.2 GiB)"). */
export interface WriteEstimate {
  bytes: number;
  what: string;
  /** Of `bytes`: activations (n × features floats each) and Grams (n² each), for the suggestions. */
  activationBytes?: number;
  gramBytes?: number;
}

/** Bytes available to this process on the file system of `dir` (or of its nearest existing parent). */
export async function freeBytes(dir: string): Promise<number> {
  let at = resolve(dir);
  for (;;) {
    try {
      const stats = await fs.statfs(at);
      return stats.bavail * stats.bsize;
    } catch (err) {
      const parent = dirname(at);
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || parent === at) throw err;
      at = parent;
    }
  }
}

export interface RoomOptions {
  /** The cache limit, when the bytes go into the cache: a run's own entries are pinned, so they must fit under it. */
  cacheLimitBytes?: number;
  /** Where the bytes go, for the message (default `dir`). */
  where?: string;
  /** Bytes the same piece of work has put in the cache already (held by it: they count against the limit too). */
  alreadyBytes?: number;
  /** Told when the estimate fits but takes more than half the cache limit (older entries will be evicted). */
  onWarning?: (message: string) => void;
}

/**
 * What would write less: fewer examples always; a `mean` reduction when activations are written
 * (a conv layer's C×H×W values become C); a minibatch measure when Grams are (n² each).
 */
export function writeLessSuggestions(estimate: WriteEstimate): string {
  const ways = ['fewer examples or layers'];
  if ((estimate.activationBytes ?? 0) > 0) ways.push("a 'mean' reduction");
  if ((estimate.gramBytes ?? 0) > 0) ways.push('a minibatch measure (minibatch:100), which computes no n² Grams');
  return ways.length === 1 ? ways[0]! : `${ways.slice(0, -1).join(', ')} or ${ways.at(-1)!}`;
}

/** DISK_FULL when `estimate` does not fit in `dir`'s free space (less the headroom) or under the cache limit. */
export async function checkRoomToWrite(dir: string, estimate: WriteEstimate, options: RoomOptions = {}): Promise<void> {
  if (estimate.bytes <= 0) return;
  const where = options.where ?? dir;
  const { cacheLimitBytes } = options;
  const already = options.alreadyBytes ?? 0;
  const withAlready = already > 0 ? `, with the ${formatSize(already)} it has written already,` : ',';
  if (cacheLimitBytes !== undefined && estimate.bytes + already > cacheLimitBytes) {
    throw new WorkbenchError(
      'DISK_FULL',
      `this would write about ${formatSize(estimate.bytes)} to ${where} (${estimate.what})${withAlready} more than the cache limit of ` +
        `${formatSize(cacheLimitBytes)}; raise the cache limit, or use ${writeLessSuggestions(estimate)}`,
      { estimateBytes: estimate.bytes, limitBytes: cacheLimitBytes },
    );
  }
  const free = await freeBytes(dir);
  if (estimate.bytes + HEADROOM_BYTES > free) {
    throw new WorkbenchError(
      'DISK_FULL',
      `this would write about ${formatSize(estimate.bytes)} to ${where} (${estimate.what}), and its disk has ` +
        `${formatSize(free)} free; free some space, or use ${writeLessSuggestions(estimate)}`,
      { estimateBytes: estimate.bytes, freeBytes: free },
    );
  }
  if (cacheLimitBytes !== undefined && estimate.bytes + already > cacheLimitBytes / 2) {
    options.onWarning?.(
      `this will write about ${formatSize(estimate.bytes)} to ${where} (${estimate.what})${withAlready} more than half the cache ` +
        `limit of ${formatSize(cacheLimitBytes)}: older cache entries will be evicted to make room`,
    );
  }
}
