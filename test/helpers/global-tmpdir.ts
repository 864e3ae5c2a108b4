import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Every test file makes scratch folders under os.tmpdir(). Point TMPDIR at one folder per
 * `npm test` (forks, the child processes they spawn and the browser inherit it) and remove it
 * at the end, so repeated runs do not fill the machine's /tmp.
 */
export default function setup(): () => void {
  const root = mkdtempSync(join(tmpdir(), 'ckawb-test-'));
  process.env.TMPDIR = root;
  return () => rmSync(root, { recursive: true, force: true });
}
