/** The app's own directory for its database, caches and uploads (overridable everywhere). */
import { homedir } from 'node:os';
import { join } from 'node:path';

export function defaultDataDir(env: NodeJS.ProcessEnv = process.env, platform = process.platform): string {
  if (env.CKA_WORKBENCH_DATA_DIR) return env.CKA_WORKBENCH_DATA_DIR;
  if (platform === 'win32') return join(env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'), 'cka-workbench');
  if (platform === 'darwin') return join(homedir(), 'Library', 'Application Support', 'cka-workbench');
  return join(env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share'), 'cka-workbench');
}
