/**
 * `npm run serve` on Linux starts the server again with huge pages for malloc (app/server/main.ts,
 * app/api/huge-pages.mjs): the process that serves is the second one, with the setting; the first
 * only waits, and stopping it (SIGTERM) stops the server gracefully and ends both with its exit code.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { rendererDist, repoRoot } from '../helpers/paths.js';

const dataDir = mkdtempSync(join(tmpdir(), 'ckawb-serve-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

/** A process's environment, as one string (glibc 2.36 splits GLIBC_TUNABLES at its colons in place). */
const environOf = (pid: number) => readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');

describe('the local server', () => {
  it('serves from a second process started with huge pages, and stops with the first', async () => {
    const first = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(repoRoot, 'app/server/main.ts'),
        '--port',
        '0',
        '--data-dir',
        dataDir,
        '--static-dir',
        rendererDist,
      ],
      {
        cwd: repoRoot,
        // forced whatever this machine's kernel mode (the conditions are unit-tested)
        env: { ...process.env, CKA_WORKBENCH_HUGE_PAGES: '1', GLIBC_TUNABLES: '' },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      first.on('exit', (code, signal) => resolve({ code, signal })),
    );
    const url = await new Promise<string>((resolve, reject) => {
      let text = '';
      first.stdout.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        const match = /serving at (\S+)/.exec(text);
        if (match) resolve(match[1]!);
      });
      first.on('exit', () => reject(new Error(`the server ended before serving: ${text}`)));
    });
    const children = readFileSync(`/proc/${first.pid}/task/${first.pid}/children`, 'utf8').trim().split(/\s+/);
    expect(children).toHaveLength(1);
    const serving = Number(children[0]);
    expect(environOf(serving)).toContain('CKA_WORKBENCH_RELAUNCHED=1');
    expect(environOf(serving)).toContain('GLIBC_TUNABLES=glibc.malloc.hugetlb=1');
    expect(environOf(first.pid!)).not.toContain('CKA_WORKBENCH_RELAUNCHED=1');
    // The renderer's page is public: the second process answers.
    expect((await fetch(new URL('/', url))).status).toBe(200);
    first.kill('SIGTERM');
    expect(await exited).toEqual({ code: 0, signal: null });
    expect(() => readFileSync(`/proc/${serving}/stat`)).toThrow();
  }, 60_000);
});
