/**
 * The file-access policy of the API (used alike by the Electron IPC shell, the HTTP server and the
 * CLI): a request may name a model, probe file or probe folder only if the user opened it
 * (openModel / inspectModel / openProbe, an upload, or an earlier session's library), or if it
 * lies inside the app's own directories (the data directory — uploads live there — and the shipped
 * models/). Everything else is FORBIDDEN with a message saying how to open it.
 *
 * Paths are compared by their real path (symlinks and `..` resolved), so a link or a traversal
 * cannot turn an allowed name into another file, and a file swapped for a link after it was
 * opened is refused.
 */
import { promises as fs } from 'node:fs';
import { basename, resolve, sep } from 'node:path';
import { WorkbenchError, toWorkbenchError } from '../common/errors.js';

export type AccessPurpose = 'model' | 'probe file' | 'probe folder' | 'tokenizer' | 'activations folder or file';

export interface FileAccessOptions {
  /** Directories whose contents are always allowed (the app's own). */
  appDirs: string[];
  /** Files opened in earlier sessions (the persistent library), by real path. */
  remembered?: (realPath: string) => Promise<boolean>;
  /**
   * The caller is the person whose files these are (the command line, run by its user): every
   * path is allowed. The desktop app and the server never set this; their requests come from a
   * page and may use only what the user opened.
   */
  trustCaller?: boolean;
}

/** The real path of `path` (absolute, symlinks resolved); NOT_FOUND naming the path if it does not exist. */
export async function realPathOf(path: string): Promise<string> {
  try {
    return await fs.realpath(resolve(path));
  } catch (err) {
    const e = toWorkbenchError(err);
    throw new WorkbenchError(
      e.code,
      e.code === 'NOT_FOUND' ? `${path}: no such file or folder` : `${path}: ${e.message}`,
    );
  }
}

/** Whether `child` is `dir` or lies under it (both absolute real paths). */
export function isInside(child: string, dir: string): boolean {
  return child === dir || child.startsWith(dir.endsWith(sep) ? dir : dir + sep);
}

export class FileAccessPolicy {
  private readonly opened = new Set<string>();
  private appDirs: Promise<string[]> | null = null;

  constructor(private readonly options: FileAccessOptions) {}

  /** Marks a real path as opened by the user (for this session; the library keeps it across sessions). */
  allow(realPath: string): void {
    this.opened.add(realPath);
  }

  private realAppDirs(): Promise<string[]> {
    this.appDirs ??= Promise.all(
      this.options.appDirs.map(async (dir) => {
        await fs.mkdir(dir, { recursive: true }).catch(() => undefined);
        return fs.realpath(dir).catch(() => resolve(dir));
      }),
    );
    return this.appDirs;
  }

  /** The real path of `path` when the request may use it; FORBIDDEN (or NOT_FOUND) otherwise. */
  async check(path: string, purpose: AccessPurpose): Promise<string> {
    // A trusted caller's paths are used as given: the engine's own errors name what is wrong with them.
    if (this.options.trustCaller) return resolve(path);
    let real: string;
    try {
      real = await realPathOf(path);
    } catch (err) {
      // Say "no such file" only about paths the request could use; for others whether they exist is none of its business.
      if (await this.allowed(resolve(path))) throw err;
      throw this.forbidden(path, purpose);
    }
    if (await this.allowed(real)) return real;
    throw this.forbidden(path, purpose);
  }

  /**
   * The real path a request may write into (`extract`'s output folder, which may not exist yet):
   * inside the app's own directories, or anywhere for a trusted caller; FORBIDDEN otherwise.
   */
  async checkOutput(path: string): Promise<string> {
    const target = resolve(path);
    if (this.options.trustCaller) return target;
    // The nearest existing ancestor's real path, with the rest appended: a link on the way is followed.
    let existing = target;
    const rest: string[] = [];
    for (;;) {
      try {
        existing = await fs.realpath(existing);
        break;
      } catch {
        const parent = resolve(existing, '..');
        if (parent === existing) break;
        rest.unshift(basename(existing));
        existing = parent;
      }
    }
    const real = rest.length > 0 ? resolve(existing, ...rest) : existing;
    if ((await this.realAppDirs()).some((dir) => isInside(real, dir))) return real;
    throw new WorkbenchError(
      'FORBIDDEN',
      `${path}: the workbench writes only into its own folders; choose an output folder inside its data directory`,
    );
  }

  private async allowed(real: string): Promise<boolean> {
    if (this.opened.has(real)) return true;
    if ((await this.realAppDirs()).some((dir) => isInside(real, dir))) return true;
    if (this.options.remembered && (await this.options.remembered(real))) {
      this.opened.add(real);
      return true;
    }
    return false;
  }

  private forbidden(path: string, purpose: AccessPurpose): WorkbenchError {
    const how =
      purpose === 'model'
        ? 'open it first (Open model, drop it on the window, or upload it)'
        : purpose === 'activations folder or file'
          ? 'only activations inside the workbench data directory can be compared from here'
          : purpose === 'tokenizer'
            ? 'choose it as the tokenizer of a text probe first'
            : 'open it first as a probe set';
    return new WorkbenchError('FORBIDDEN', `${path}: not a ${purpose} you opened in the workbench; ${how}`);
  }
}
