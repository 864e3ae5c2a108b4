/** Versions of the app and its runtime, for provenance and the About view. */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AppInfo } from '../common/contract.js';

const require = createRequire(import.meta.url);

/** The app's own package.json, found by walking up (sources, dist/ and bundles sit at different depths). */
function ownPackageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'cka-workbench' && pkg.version) return pkg.version;
    }
    dir = dirname(dir);
  }
  return 'unknown';
}

function dependencyVersion(name: string): string {
  try {
    return (require(`${name}/package.json`) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export const APP_NAME = 'CKA Workbench';
export const APP_VERSION = ownPackageVersion();

export function appInfo(): AppInfo {
  return {
    name: APP_NAME,
    version: APP_VERSION,
    node: process.versions.node,
    onnxruntime: dependencyVersion('onnxruntime-node'),
    platform: `${process.platform}-${process.arch}`,
  };
}
