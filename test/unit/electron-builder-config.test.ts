import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
// electron-builder's own loader and schema validation (what `electron-builder --dir` runs first).
import { getConfig, validateConfiguration } from 'app-builder-lib/out/util/config/config.js';
import { DebugLogger } from 'builder-util';
import { repoRoot } from '../helpers/paths.js';

type Config = Awaited<ReturnType<typeof getConfig>>;

async function load(): Promise<Config> {
  return getConfig(repoRoot, join(repoRoot, 'electron-builder.yml'), null);
}

describe('electron-builder.yml', () => {
  it('passes electron-builder schema validation', async () => {
    const config = await load();
    await expect(validateConfiguration(config, new DebugLogger(false))).resolves.toBeUndefined();
    const broken = { ...config, linux: { ...config.linux, notAnOption: true } } as unknown as Config;
    await expect(validateConfiguration(broken, new DebugLogger(false))).rejects.toThrow(/configuration\.linux/);
  });

  it('targets AppImage + deb, dmg and nsis, and associates .onnx files', async () => {
    const config = await load();
    expect(config.linux?.target).toEqual(['AppImage', 'deb']);
    expect(config.mac?.target).toBe('dmg');
    expect(config.win?.target).toBe('nsis');
    expect(config.fileAssociations).toEqual([expect.objectContaining({ ext: 'onnx' })]);
    expect(config.appId).toMatch(/^[a-z]+(\.[a-z]+)+$/);
    expect(existsSync(join(repoRoot, 'main/build-resources/icon.png'))).toBe(true);
  });

  it('unpacks the native modules from asar and ships one platform of onnxruntime each', async () => {
    const config = await load();
    expect(config.asarUnpack).toEqual(
      expect.arrayContaining([
        'node_modules/onnxruntime-node/bin/**',
        'node_modules/better-sqlite3/**',
        'node_modules/sharp/**',
      ]),
    );
    const excluded = (files: unknown) =>
      (files as string[]).filter((f) => f.startsWith('!node_modules/onnxruntime-node'));
    expect(excluded(config.linux?.files).join()).not.toMatch(/linux/);
    expect(excluded(config.mac?.files).join()).not.toMatch(/darwin/);
    expect(excluded(config.win?.files).join()).not.toMatch(/win32/);
  });

  it('packs the files `npm run build` produces', async () => {
    const config = await load();
    // The loader normalises `files` into file sets; collect their patterns.
    const patterns = (config.files as ({ filter?: string[] } | string)[]).flatMap((set) =>
      typeof set === 'string' ? [set] : (set.filter ?? []),
    );
    expect(patterns).toEqual(expect.arrayContaining(['dist/main/**', 'dist/renderer/**', 'dist/app/**']));
    for (const built of [
      'dist/main/main.js',
      'dist/main/preload.cjs',
      'dist/renderer/index.html',
      'dist/app/cli/main.js',
    ]) {
      expect(existsSync(join(repoRoot, built)), `${built} (run npm run build)`).toBe(true);
    }
  });

  it('flips the Electron fuses: no RunAsNode, NODE_OPTIONS or --inspect; encrypted cookies; asar only, checked', async () => {
    const config = await load();
    expect(config.electronFuses).toEqual({
      runAsNode: false,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableCookieEncryption: true,
      enableEmbeddedAsarIntegrityValidation: true,
      onlyLoadAppFromAsar: true,
      grantFileProtocolExtraPrivileges: false,
    });
    // The fuse names are electron-builder's own (schema validation above rejects unknown keys).
    const broken = { ...config, electronFuses: { ...config.electronFuses, runAsNodes: false } } as unknown as Config;
    await expect(validateConfiguration(broken, new DebugLogger(false))).rejects.toThrow(/electronFuses/);
  });

  it('starts no process in a way RunAsNode off would break: main uses utilityProcess, never child_process', () => {
    // main/launch.mjs is `npm start`'s launcher (it runs before Electron, in plain Node), not the app.
    const appFiles = readdirSync(join(repoRoot, 'main')).filter((f) => f.endsWith('.ts'));
    expect(appFiles).toEqual(expect.arrayContaining(['main.ts', 'engine-host.ts', 'utility-launcher.ts']));
    for (const file of appFiles) {
      const source = readFileSync(join(repoRoot, 'main', file), 'utf8');
      expect(source, file).not.toMatch(/['"](node:)?child_process['"]/);
      expect(source, file).not.toMatch(/ELECTRON_RUN_AS_NODE\s*[:=]/);
    }
    const main = readFileSync(join(repoRoot, 'main', 'main.ts'), 'utf8');
    expect(main).toMatch(/runnerLauncher: utilityProcessLauncher\(/);
    expect(main).toMatch(/utilityProcess\.fork\(/);
  });
});
