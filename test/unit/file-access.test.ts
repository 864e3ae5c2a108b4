/** The file-access policy: opened files and the app's own folders, by real path; traversal and links do not get around it. */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileAccessPolicy, realPathOf } from '../../app/api/file-access.js';
import { removeTempDataDirs, tempDataDir } from '../helpers/experiments.js';

function setup() {
  const appDir = tempDataDir('ckawb-app-');
  const outside = tempDataDir('ckawb-user-');
  const opened = join(outside, 'opened.onnx');
  const other = join(outside, 'other.onnx');
  writeFileSync(opened, 'x');
  writeFileSync(other, 'x');
  mkdirSync(join(appDir, 'uploads'));
  writeFileSync(join(appDir, 'uploads', 'up.onnx'), 'x');
  const remembered = new Set<string>();
  const policy = new FileAccessPolicy({ appDirs: [appDir], remembered: async (p) => remembered.has(p) });
  return { appDir, outside, opened, other, policy, remembered };
}

afterEach(() => removeTempDataDirs());

describe('file access', () => {
  it('allows opened files and the app directory, and nothing else', async () => {
    const { appDir, opened, other, policy } = setup();
    policy.allow(await realPathOf(opened));
    await expect(policy.check(opened, 'model')).resolves.toBe(await realPathOf(opened));
    await expect(policy.check(join(appDir, 'uploads', 'up.onnx'), 'model')).resolves.toMatch(/up\.onnx$/);
    await expect(policy.check(other, 'model')).rejects.toMatchObject({
      code: 'FORBIDDEN',
      message: `${other}: not a model you opened in the workbench; open it first (Open model, drop it on the window, or upload it)`,
    });
    await expect(policy.check('/etc/hostname', 'probe file')).rejects.toMatchObject({
      code: 'FORBIDDEN',
      message: '/etc/hostname: not a probe file you opened in the workbench; open it first as a probe set',
    });
  });

  it('resolves traversal and links before deciding', async () => {
    const { appDir, outside, other, policy } = setup();
    const escape = join(appDir, 'uploads', '..', '..', outside.split('/').pop()!, 'other.onnx');
    await expect(policy.check(escape, 'model')).rejects.toMatchObject({ code: 'FORBIDDEN' });
    const link = join(appDir, 'uploads', 'link.onnx');
    symlinkSync(other, link);
    await expect(policy.check(link, 'model')).rejects.toMatchObject({ code: 'FORBIDDEN' });
    const dirLink = join(appDir, 'outside-dir');
    symlinkSync(outside, dirLink);
    await expect(policy.check(join(dirLink, 'other.onnx'), 'model')).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it('says "not found" only inside what is allowed; elsewhere whether a file exists is not told', async () => {
    const { appDir, outside, policy } = setup();
    await expect(policy.check(join(appDir, 'uploads', 'gone.onnx'), 'model')).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    await expect(policy.check(join(outside, 'gone.onnx'), 'model')).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it('allows files opened in an earlier session (the library)', async () => {
    const { other, policy, remembered } = setup();
    remembered.add(await realPathOf(other));
    await expect(policy.check(other, 'model')).resolves.toBe(await realPathOf(other));
  });
});
