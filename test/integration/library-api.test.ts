/**
 * The model library over the real server: one entry per file content however it was opened
 * (by path, uploaded under another name), named as the user's file with where it came from;
 * removing one from the recent list takes every path it was opened under; and errors about an
 * uploaded file name the user's file, not the app's copy.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fixturesDir, tinyCnn } from '../helpers/paths.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

async function upload(
  name: string,
  bytes: Buffer,
): Promise<{ ok: boolean; value?: { path: string }; error?: { message: string } }> {
  const response = await fetch(`${t.server.url}api/upload?name=${encodeURIComponent(name)}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${t.server.token}`, 'Content-Type': 'application/octet-stream' },
    body: new Uint8Array(bytes),
  });
  return (await response.json()) as { ok: boolean; value?: { path: string }; error?: { message: string } };
}

const recent = async () => (await t.api.listModels({})).filter((m) => m.origin === 'opened');

describe('model library', () => {
  it('lists a model opened by path and uploaded under another name once, under the newest name', async () => {
    const byPath = await t.api.openModel({ path: tinyCnn });
    expect(await recent()).toEqual([
      expect.objectContaining({ path: byPath.path, fileName: 'tiny_cnn.onnx', source: 'path', from: dirname(tinyCnn) }),
    ]);

    const sent = await upload('My CNN (final).onnx', readFileSync(tinyCnn));
    expect(sent.ok).toBe(true);
    const uploaded = await t.api.openModel({ path: sent.value!.path });
    expect(uploaded.fileName).toBe('My CNN (final).onnx');
    expect(uploaded.sha256).toBe(byPath.sha256);
    const list = await recent();
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({
      path: sent.value!.path,
      fileName: 'My CNN (final).onnx',
      source: 'upload',
      from: 'uploaded',
      sha256: byPath.sha256,
      available: true,
    });
  });

  it('keeps a stable order: newest first, and the same on every read', async () => {
    const bn = join(fixturesDir, 'models/bn_cnn.onnx');
    await t.api.openModel({ path: bn });
    const first = (await recent()).map((m) => m.fileName);
    expect(first).toEqual(['bn_cnn.onnx', 'My CNN (final).onnx']);
    for (let i = 0; i < 3; i++) expect((await recent()).map((m) => m.fileName)).toEqual(first);
  });

  it('removes a model from the recent list under every path it was opened by', async () => {
    const removed = await t.api.forgetModel({ path: tinyCnn });
    expect(removed).toEqual({ removed: 2 });
    expect((await recent()).map((m) => m.fileName)).toEqual(['bn_cnn.onnx']);
    await expect(t.api.forgetModel({ path: tinyCnn })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('names the user’s file in errors about an upload, never the copy in the data directory', async () => {
    const broken = join(t.dataDir, 'broken.bin');
    writeFileSync(broken, Buffer.from('not a model at all'));
    const sent = await upload('notes.onnx', readFileSync(broken));
    expect(sent.ok).toBe(true);
    const error = await t.api.openModel({ path: sent.value!.path }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/^notes\.onnx \(uploaded\): /);
    expect((error as Error).message).not.toContain('uploads/');

    const empty = await upload('empty model.onnx', Buffer.alloc(0));
    expect(empty).toMatchObject({ ok: false, error: { message: 'empty model.onnx: the uploaded file is empty' } });
  });
});
