// `npm start`: launches the desktop app. Where Electron's runtime was not installed (offline
// machines, CI) or there is no display, it says so and points to the browser UI instead.
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const root = fileURLToPath(new URL('..', import.meta.url));

function fallback(reason) {
  console.error(`CKA Workbench: cannot open the desktop app: ${reason}.`);
  console.error('Run `npm run serve` to use the same UI in a browser (it prints a 127.0.0.1 URL).');
  process.exit(1);
}

const electronDir = dirname(require.resolve('electron/package.json'));

/** The Electron executable if its runtime is installed (electron's own index.js would download it). */
function installedElectron() {
  const pathFile = join(electronDir, 'path.txt');
  if (!existsSync(pathFile)) return null;
  const binary = join(electronDir, 'dist', readFileSync(pathFile, 'utf8').trim());
  return existsSync(binary) ? binary : null;
}

let electronBinary = installedElectron();
if (!electronBinary && !process.env.ELECTRON_SKIP_BINARY_DOWNLOAD) {
  console.log('Downloading the Electron runtime (first start only)…');
  spawnSync(process.execPath, [join(electronDir, 'install.js')], { stdio: 'ignore', timeout: 10 * 60_000 });
  electronBinary = installedElectron();
}
if (!electronBinary) fallback('the Electron runtime is not installed and could not be downloaded');
if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) {
  fallback('no display is available (DISPLAY and WAYLAND_DISPLAY are unset)');
}

const child = spawn(electronBinary, [root, ...process.argv.slice(2)], { stdio: 'inherit' });
child.on('exit', (code, signal) => process.exit(signal ? 1 : (code ?? 0)));
