/**
 * Which process owns a running run. A run left `running` by a process that no longer exists was
 * interrupted (killed, crashed, power cut); one whose owner is alive — another app or CLI on the
 * same data directory — must be left alone.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

export interface RunOwner {
  host: string;
  pid: number;
  /** Random per process: tells this process from an earlier one that had the same pid. */
  token: string;
}

export const THIS_PROCESS: RunOwner = { host: hostname(), pid: process.pid, token: randomBytes(8).toString('hex') };

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** False only when we can tell the owner is gone; owners on other hosts are presumed alive. */
export function ownerAlive(owner: { host?: string | null; pid?: number | null; token?: string | null }): boolean {
  if (!owner.host || owner.pid === undefined || owner.pid === null) return false;
  if (owner.token === THIS_PROCESS.token) return true;
  if (owner.host !== THIS_PROCESS.host) return true;
  if (owner.pid === THIS_PROCESS.pid) return false;
  return pidAlive(owner.pid);
}
