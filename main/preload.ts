/**
 * The preload: the only bridge between the sandboxed renderer and the app. It exposes exactly the
 * WorkbenchBridge (JSON in, JSON out) and nothing of Node or Electron. Bundled to one CommonJS file
 * because a sandboxed preload can only `require` a few Electron modules.
 */
import { contextBridge, ipcRenderer, webUtils, type IpcRendererEvent } from 'electron';
import type { ShellEvent, WorkbenchBridge } from '../app/common/bridge.js';
import type { WorkbenchEvent } from '../app/common/contract.js';
import { IPC } from './ipc-channels.js';

const bridge: WorkbenchBridge = {
  kind: 'electron',
  invoke: (method, request) => ipcRenderer.invoke(IPC.invoke, method, request),
  subscribe(listener) {
    const handler = (_event: IpcRendererEvent, payload: WorkbenchEvent | ShellEvent) => listener(payload);
    ipcRenderer.on(IPC.event, handler);
    return () => {
      ipcRenderer.removeListener(IPC.event, handler);
    };
  },
  pathForFile: (file) => webUtils.getPathForFile(file as File),
  chooseModelFiles: () => ipcRenderer.invoke(IPC.chooseModelFiles),
  chooseProbePath: (kind) => ipcRenderer.invoke(IPC.chooseProbePath, kind),
};

contextBridge.exposeInMainWorld('workbench', bridge);
