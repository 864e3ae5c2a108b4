/**
 * The Electron shell: one secure window over the built renderer, the application menu, native
 * dialogs, files opened from the OS, and IPC handlers that check who calls and pass the call to
 * the engine. It holds no engine logic and does no engine work: the WorkbenchApi runs in a
 * utilityProcess (./engine-host.ts) and model runners in utilityProcesses of their own.
 *
 *   main ── MessageChannelMain ──► engine host (API, SQLite, CKA worker threads)
 *     └──── utilityProcess.fork ──► model runners (onnxruntime), relayed for the host
 */
import {
  BrowserWindow,
  Menu,
  MessageChannelMain,
  app,
  dialog,
  ipcMain,
  screen,
  session,
  utilityProcess,
} from 'electron';
import { existsSync } from 'node:fs';
import { basename, join, dirname, extname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ShellEvent } from '../app/common/bridge.js';
import type { ApiEnvelope, WorkbenchEvent } from '../app/common/contract.js';
import { defaultDataDir } from '../app/api/data-dir.js';
import { registerAppScheme, serveRenderer } from './app-protocol.js';
import { EngineHost } from './engine-client.js';
import { guardDownloads } from './downloads.js';
import { IPC } from './ipc-channels.js';
import { buildMenu } from './menu.js';
import { clearRecent, readRecent, rememberRecent } from './recent-models.js';
import { APP_ORIGIN, isAppUrl, secureWebPreferences } from './security.js';
import { utilityProcessLauncher } from './utility-launcher.js';
import { loadWindowState, trackWindowState } from './window-state.js';

const here = dirname(fileURLToPath(import.meta.url));
/** The app's root: main/ from the sources (tests), dist/main/ once built. */
const appRoot = basename(dirname(here)) === 'dist' ? join(here, '..', '..') : join(here, '..');
const dataDir = defaultDataDir();
const recentFile = join(dataDir, 'recent-models.json');

registerAppScheme();

if (!app.requestSingleInstanceLock()) app.quit();

let mainWindow: BrowserWindow | null = null;
const pendingPaths: string[] = modelPathsFromArgv(process.argv);

function modelPathsFromArgv(argv: string[]): string[] {
  return argv
    .slice(1)
    .filter((a) => extname(a).toLowerCase() === '.onnx' && existsSync(a))
    .map((a) => resolve(a));
}

function remember(path: string): void {
  rememberRecent(recentFile, path);
  app.addRecentDocument(path);
  refreshMenu();
}

function send(event: WorkbenchEvent | ShellEvent): void {
  if (mainWindow && !mainWindow.isDestroyed()) mainWindow.webContents.send(IPC.event, event);
}

/** A model to open from outside the page (menu, dialog, OS): the page opens it and it becomes recent. */
function openModelPath(path: string): void {
  if (!mainWindow) {
    pendingPaths.push(path);
    return;
  }
  send({ type: 'shell:open-model', path });
}

async function chooseProbePath(kind: 'file' | 'folder'): Promise<string | null> {
  const options: Electron.OpenDialogOptions =
    kind === 'file'
      ? {
          title: 'Choose a probe set',
          filters: [{ name: 'NumPy arrays', extensions: ['npy', 'npz'] }],
          properties: ['openFile'],
        }
      : { title: 'Choose a folder of images', properties: ['openDirectory'] };
  const result = await openDialog(options);
  return result.canceled ? null : (result.filePaths[0] ?? null);
}

/** The native open dialog, attached to the window when there is one. */
function openDialog(options: Electron.OpenDialogOptions): Promise<Electron.OpenDialogReturnValue> {
  return mainWindow ? dialog.showOpenDialog(mainWindow, options) : dialog.showOpenDialog(options);
}

/** IPC is answered only for the workbench page itself (not a frame or page it might have navigated to). */
function fromWorkbench(event: Electron.IpcMainInvokeEvent): boolean {
  return !!event.senderFrame && isAppUrl(event.senderFrame.url);
}

async function chooseModelFiles(): Promise<string[]> {
  const options: Electron.OpenDialogOptions = {
    title: 'Open ONNX model',
    filters: [{ name: 'ONNX models', extensions: ['onnx'] }],
    properties: ['openFile', 'multiSelections'],
  };
  const result = await openDialog(options);
  return result.canceled ? [] : result.filePaths;
}

function refreshMenu(): void {
  Menu.setApplicationMenu(
    buildMenu({
      openModel: () => void chooseModelFiles().then((paths) => paths.forEach(openModelPath)),
      openRecent: openModelPath,
      clearRecent: () => {
        clearRecent(recentFile);
        app.clearRecentDocuments();
        refreshMenu();
      },
      exportResult: () => send({ type: 'shell:menu', command: 'export' }),
      recent: () => readRecent(recentFile),
    }),
  );
}

function createWindow(): BrowserWindow {
  const stateFile = join(dataDir, 'window-state.json');
  const state = loadWindowState(
    stateFile,
    screen.getAllDisplays().map((display) => display.workArea),
  );
  const window = new BrowserWindow({
    ...state.bounds,
    minWidth: 1024,
    minHeight: 700,
    show: false,
    title: 'CKA Workbench',
    backgroundColor: '#16181c',
    webPreferences: secureWebPreferences(join(here, 'preload.cjs')),
  });
  if (state.maximized) window.maximize();
  trackWindowState(window, stateFile);
  window.once('ready-to-show', () => window.show());
  window.webContents.once('did-finish-load', () => pendingPaths.splice(0).forEach(openModelPath));
  void window.loadURL(`${APP_ORIGIN}/index.html`);
  return window;
}

app.on('web-contents-created', (_event, contents) => {
  contents.on('will-navigate', (event, url) => {
    if (!isAppUrl(url)) event.preventDefault();
  });
  contents.on('will-redirect', (event, url) => {
    if (!isAppUrl(url)) event.preventDefault();
  });
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  contents.on('will-attach-webview', (event) => event.preventDefault());
});

app.on('second-instance', (_event, argv) => {
  modelPathsFromArgv(argv).forEach(openModelPath);
  if (mainWindow?.isMinimized()) mainWindow.restore();
  mainWindow?.focus();
});

app.on('open-file', (event, path) => {
  event.preventDefault();
  openModelPath(path);
});

void app.whenReady().then(() => {
  serveRenderer(join(here, '..', 'renderer'));
  session.defaultSession.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  session.defaultSession.setPermissionCheckHandler(() => false);
  guardDownloads(session.defaultSession);

  const engine = new EngineHost({
    fork: (entry, args, options) => utilityProcess.fork(entry, args, options),
    channel: () => new MessageChannelMain(),
    entry: join(here, 'engine-host.js'),
    config: { dataDir, ...(app.isPackaged ? { modelsDir: join(process.resourcesPath, 'models') } : {}) },
    runnerLauncher: utilityProcessLauncher((entry, args, options) => utilityProcess.fork(entry, args, options)),
    appRoot,
    onEvent: send,
  });
  ipcMain.handle(IPC.invoke, async (event, method: unknown, request: unknown): Promise<ApiEnvelope<unknown>> => {
    if (!fromWorkbench(event)) {
      return { ok: false, error: { code: 'FORBIDDEN', message: 'IPC is accepted from the workbench window only' } };
    }
    if (typeof method !== 'string') {
      return { ok: false, error: { code: 'BAD_INPUT', message: 'the API method must be a string' } };
    }
    // The engine host validates the request against the API's schemas (app/api/dispatch.ts).
    const envelope = await engine.invoke(method, request);
    // However the page opened a model (typed path, drop, dialog, menu), it becomes a recent document.
    if (envelope.ok && (method === 'openModel' || method === 'inspectModel')) {
      remember((envelope.value as { path: string }).path);
    }
    return envelope;
  });
  ipcMain.handle(IPC.chooseModelFiles, async (event) => (fromWorkbench(event) ? chooseModelFiles() : []));
  ipcMain.handle(IPC.chooseProbePath, async (event, kind: unknown) =>
    fromWorkbench(event) && (kind === 'file' || kind === 'folder') ? chooseProbePath(kind) : null,
  );
  engine.start();

  refreshMenu();
  mainWindow = createWindow();
  mainWindow.on('closed', () => (mainWindow = null));
  // Every way out — the last window closed, File › Quit, Cmd+Q, the OS logging out — passes
  // through before-quit (window-all-closed is not emitted after app.quit()): hold the quit until
  // the engine has ended its runs, database and runner processes, then quit for real.
  let engineClosed = false;
  let closing: Promise<void> | null = null;
  app.on('before-quit', (event) => {
    if (engineClosed) return;
    event.preventDefault();
    closing ??= engine.close().finally(() => {
      engineClosed = true;
      app.quit();
    });
  });
  app.on('window-all-closed', () => app.quit());
});
