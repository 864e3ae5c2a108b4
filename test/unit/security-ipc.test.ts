/**
 * The Electron shell's inputs (issue 8 §5), through the real main/main.ts against a mocked
 * `electron` (no Electron binary here) with the engine host and runners as the app runs them
 * (../helpers/electron-fakes.ts): every API method called over IPC with malformed input gets
 * BAD_INPUT; IPC from anything but the workbench page is refused; and the app:// protocol serves
 * only the renderer's own files — not through encoded, double-encoded or backslash paths, nor
 * through links that point out of the renderer folder.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ApiEnvelope } from '../../app/common/contract.js';
import { API_METHODS } from '../../app/api/schemas.js';
import { electronRecord, forks, resolveElectronReady } from '../helpers/electron-fakes.js';
import { MALFORMED, NOT_OBJECTS } from '../helpers/malformed-requests.js';

vi.mock('electron', async () => (await import('../helpers/electron-fakes.js')).fakeElectronModule());

const dataDir = mkdtempSync(join(tmpdir(), 'ckawb-security-ipc-'));
const APP_PAGE = 'app://workbench/index.html';

function invoke(frameUrl: string | null, method: unknown, request: unknown): Promise<ApiEnvelope<unknown>> {
  const handler = electronRecord.ipcHandlers.get('workbench:invoke')!;
  return handler({ senderFrame: frameUrl === null ? null : { url: frameUrl } }, method, request) as Promise<
    ApiEnvelope<unknown>
  >;
}

beforeAll(async () => {
  process.env.CKA_WORKBENCH_DATA_DIR = dataDir;
  await import('../../main/main.js');
  resolveElectronReady();
  await vi.waitFor(() => expect(electronRecord.ipcHandlers.has('workbench:invoke')).toBe(true));
});

afterAll(async () => {
  const host = forks.find((f) => f.modulePath.endsWith('engine-host.js'))?.process;
  const exited = host ? new Promise((resolve) => host.once('exit', resolve)) : Promise.resolve();
  for (const listener of electronRecord.appEvents.get('window-all-closed') ?? []) listener();
  await exited;
  delete process.env.CKA_WORKBENCH_DATA_DIR;
  rmSync(dataDir, { recursive: true, force: true });
});

describe('Electron IPC inputs', () => {
  it('every API method with malformed input answers BAD_INPUT naming the method', async () => {
    expect(Object.keys(MALFORMED).sort()).toEqual([...API_METHODS].sort());
    let count = 0;
    for (const method of API_METHODS) {
      for (const request of [...MALFORMED[method], ...NOT_OBJECTS]) {
        const what = `${method} ${JSON.stringify(request).slice(0, 80)}`;
        const envelope = await invoke(APP_PAGE, method, request);
        expect(envelope.ok, what).toBe(false);
        if (!envelope.ok) {
          expect(envelope.error.code, what).toBe('BAD_INPUT');
          expect(envelope.error.message, what).toMatch(new RegExp(`^invalid request for ${method}: `));
        }
        count++;
      }
    }
    expect(count).toBeGreaterThan(150);
    // Nothing was created by any of them.
    expect(await invoke(APP_PAGE, 'listExperiments', {})).toEqual({ ok: true, value: [] });
  }, 60_000);

  it('method names that are not API methods, and senders that are not the workbench page, are refused', async () => {
    for (const method of ['__proto__', 'constructor', 'toString', 'close', 'emit', 'subscribe', '', 'appInfo ']) {
      const envelope = await invoke(APP_PAGE, method, {});
      expect(envelope, method).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    }
    for (const method of [42, null, ['appInfo'], { name: 'appInfo' }]) {
      expect(await invoke(APP_PAGE, method, {})).toMatchObject({ ok: false, error: { code: 'BAD_INPUT' } });
    }
    for (const frame of [
      null,
      'https://evil.example/',
      'file:///etc/passwd',
      'app://evil/index.html',
      'devtools://x',
    ]) {
      expect(await invoke(frame, 'appInfo', {}), String(frame)).toMatchObject({
        ok: false,
        error: { code: 'FORBIDDEN' },
      });
    }
  });
});

describe('the app:// protocol', () => {
  it('serves no file outside the renderer: encoded, double-encoded, backslash or linked', async () => {
    // The protocol handler registered by main.ts serves main/../renderer; a handler for a folder of
    // our own (with links out of it) comes from the same function.
    const { serveRenderer } = await import('../../main/app-protocol.js');
    const root = mkdtempSync(join(tmpdir(), 'ckawb-app-protocol-'));
    try {
      const renderer = join(root, 'renderer');
      mkdirSync(renderer);
      writeFileSync(join(renderer, 'index.html'), '<div id="app"></div>');
      writeFileSync(join(root, 'secret.txt'), 'TOP SECRET');
      mkdirSync(join(root, 'private'));
      writeFileSync(join(root, 'private', 'notes.txt'), 'TOP SECRET');
      symlinkSync(join(root, 'secret.txt'), join(renderer, 'linked.txt'));
      symlinkSync(join(root, 'private'), join(renderer, 'linked-folder'));
      serveRenderer(renderer);
      const handle = electronRecord.protocolHandlers.get('app')!;
      expect(await (await handle(new Request('app://workbench/index.html'))).text()).toContain('<div id="app">');
      for (const path of [
        '..%2fsecret.txt',
        '%2e%2e/secret.txt',
        '%2e%2e%2fsecret.txt',
        '%252e%252e%252fsecret.txt',
        '..%5csecret.txt',
        '%5c..%5csecret.txt',
        'linked.txt',
        'linked-folder/notes.txt',
        'linked-folder%2fnotes.txt',
      ]) {
        const response = await handle(new Request(`app://workbench/${path}`));
        expect([403, 404], path).toContain(response.status);
        expect(await response.text(), path).not.toContain('TOP SECRET');
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
