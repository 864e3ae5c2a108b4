/**
 * Picks the transport: the Electron preload's `window.workbench` bridge when present, HTTP
 * otherwise. Views only see {@link Connection}.
 */
import type { ShellEvent, WorkbenchBridge } from '@common/bridge';
import type { Unsubscribe, WorkbenchApi, WorkbenchEvent } from '@common/contract';
import { createClient } from './client';
import { httpInvoke, httpSubscribe, uploadModel } from './http';

export interface Connection {
  kind: 'electron' | 'browser';
  api: WorkbenchApi;
  /** A path the engine can open for a File the user dropped or picked. */
  pathForFile(file: File): Promise<string>;
  /** Native dialog (Electron only). */
  chooseModelFiles?: () => Promise<string[]>;
  /** Native dialog for a probe file or folder (Electron only; the browser types a path). */
  chooseProbePath?: (kind: 'file' | 'folder') => Promise<string | null>;
  /** Menu commands and files opened from the OS (Electron only). */
  onShellEvent(listener: (event: ShellEvent) => void): Unsubscribe;
}

function isShellEvent(event: WorkbenchEvent | ShellEvent): event is ShellEvent {
  return event.type.startsWith('shell:');
}

declare global {
  interface Window {
    workbench?: WorkbenchBridge;
  }
}

export function connect(): Connection {
  const bridge = window.workbench;
  if (bridge) {
    return {
      kind: 'electron',
      api: createClient(bridge.invoke, (listener) =>
        bridge.subscribe((event) => {
          if (!isShellEvent(event)) listener(event);
        }),
      ),
      pathForFile: async (file) => bridge.pathForFile(file),
      chooseModelFiles: () => bridge.chooseModelFiles(),
      chooseProbePath: (kind) => bridge.chooseProbePath(kind),
      onShellEvent: (listener) =>
        bridge.subscribe((event) => {
          if (isShellEvent(event)) listener(event);
        }),
    };
  }
  return {
    kind: 'browser',
    api: createClient(httpInvoke, httpSubscribe()),
    pathForFile: uploadModel,
    onShellEvent: () => () => undefined,
  };
}
