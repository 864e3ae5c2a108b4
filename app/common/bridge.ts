/**
 * The bridges between a shell and the renderer: what the Electron preload exposes as
 * `window.workbench`, and the events the desktop shell itself sends (menu commands, files opened
 * from the OS). Types only.
 */
import type { ApiEnvelope, Unsubscribe, WorkbenchEvent } from './contract.js';

/**
 * What the Electron preload exposes as `window.workbench` (the browser transport offers the same
 * shape over HTTP). Only JSON crosses it.
 */
export interface WorkbenchBridge {
  readonly kind: 'electron';
  invoke(method: string, request: unknown): Promise<ApiEnvelope<unknown>>;
  subscribe(listener: (event: WorkbenchEvent | ShellEvent) => void): Unsubscribe;
  /** The file-system path of a dropped or picked File (Electron's webUtils). */
  pathForFile(file: object): string;
  /** The native "open model" dialog; resolves to the chosen paths (empty when cancelled). */
  chooseModelFiles(): Promise<string[]>;
  /** The native dialog for a probe set: an .npy/.npz file or a folder of images; null when cancelled. */
  chooseProbePath(kind: 'file' | 'folder'): Promise<string | null>;
}

/** Events from the desktop shell itself: menu commands, files opened from the OS. */
export type ShellEvent = { type: 'shell:open-model'; path: string } | { type: 'shell:menu'; command: 'export' };
