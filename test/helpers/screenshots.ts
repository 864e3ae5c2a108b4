/**
 * Browser tests save screenshots to test/.artifacts/ on every run; with UPDATE_SCREENSHOTS=1 they
 * also refresh the committed copies the README shows (test/e2e/screenshots/).
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { repoRoot } from './paths.js';

const artifacts = join(repoRoot, 'test', '.artifacts');
const committed = join(repoRoot, 'test', 'e2e', 'screenshots');

export async function saveScreenshot(page: Page, name: string): Promise<string> {
  mkdirSync(artifacts, { recursive: true });
  const file = join(artifacts, `${name}.png`);
  await page.screenshot({ path: file });
  if (process.env.UPDATE_SCREENSHOTS === '1') {
    mkdirSync(committed, { recursive: true });
    copyFileSync(file, join(committed, `${name}.png`));
  }
  return file;
}
