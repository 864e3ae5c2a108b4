/**
 * The commands that compute start themselves again on Linux with glibc.malloc.hugetlb=1
 * (app/api/huge-pages.mjs): when they do, and that the first process mirrors the second — its exit
 * code, a forwarded SIGTERM — and that the second interrupts itself when the first is killed outright.
 * The local server asks the same without a command (`hugePagesEnv`; test/integration/server-huge-pages).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { commandOf, hugePagesEnv, probeExamplesOf, relaunchEnv, SMALL_PROBE } from '../../app/api/huge-pages.mjs';
import { repoRoot } from '../helpers/paths.js';

const linux = { platform: 'linux', thpMode: 'madvise', glibc: [2, 36] as [number, number] };

describe('when a command relaunches', () => {
  it('the commands that compute, unless their probe is small', () => {
    const env = { PATH: '/usr/bin' };
    for (const args of [
      ['sanity', 'a.onnx', 'b.onnx', '--probe', 'fashion-mnist:2000'],
      ['sanity', 'a.onnx', 'b.onnx', `--probe=random:${SMALL_PROBE}:3`],
      ['sanity', 'a.onnx', 'b.onnx', '--probe', 'npy:x.npy'], // its size is not in the spec
      ['run', 'spec.json'],
      ['reproduce', 'run-1'],
      ['compare', 'a', 'b'],
      ['compare', 'a.onnx', 'b.onnx', '--probe', 'fashion-mnist:5000'],
    ]) {
      expect(relaunchEnv(args, env, linux), args.join(' ')).not.toBeNull();
    }
    for (const args of [
      ['sanity', 'a.onnx', 'b.onnx', '--probe', 'fashion-mnist:500'],
      ['compare', 'a.onnx', 'b.onnx', '--probe', `random:${SMALL_PROBE - 1}`],
      ['runs', 'list'],
      ['cache', 'info'],
    ]) {
      expect(relaunchEnv(args, env, linux), args.join(' ')).toBeNull();
    }
    expect(probeExamplesOf(['compare', 'a', '--probe-b', 'fashion-mnist:10', '--probe', 'fashion-mnist:20'])).toBe(20);
    expect(probeExamplesOf(['compare', 'a', '--probe', 'images:dir'])).toBeNull();
  });

  it('only on Linux with glibc ≥ 2.35 in madvise mode, never twice or over the user’s setting', () => {
    const env = { PATH: '/usr/bin' };
    // huge pages, and the runners' settings that keep freed memory for the next onnxruntime run
    const kept = 'glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=268435456';
    expect(relaunchEnv(['compare', 'a', 'b'], env, linux)).toEqual({
      PATH: '/usr/bin',
      GLIBC_TUNABLES: `glibc.malloc.hugetlb=1:${kept}`,
      CKA_WORKBENCH_RELAUNCHED: '1',
    });
    // the command started again does no TLS: Node need not parse a CA bundle as it starts
    expect(
      relaunchEnv(['compare', 'a'], { ...env, NODE_EXTRA_CA_CERTS: '/etc/ssl/certs/ca-certificates.crt' }, linux),
    ).not.toHaveProperty('NODE_EXTRA_CA_CERTS');
    expect(relaunchEnv(['--max-probe-examples', '9', 'compare', 'a'], env, linux)).not.toBeNull();
    expect(relaunchEnv(['compare', 'a'], { GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }, linux)?.GLIBC_TUNABLES).toBe(
      `glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1:${kept}`,
    );
    expect(
      relaunchEnv(['compare', 'a'], { GLIBC_TUNABLES: 'glibc.malloc.trim_threshold=0' }, linux)?.GLIBC_TUNABLES,
    ).toBe('glibc.malloc.trim_threshold=0:glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=33554432');
    for (const [args, environment, facts] of [
      [['extract', 'm.onnx'], env, linux],
      [['inspect', 'compare'], env, linux],
      [['compare', '--help'], env, linux],
      [['compare', 'a'], { CKA_WORKBENCH_RELAUNCHED: '1' }, linux],
      [['compare', 'a'], { CKA_WORKBENCH_HUGE_PAGES: '0' }, linux],
      [['compare', 'a'], { GLIBC_TUNABLES: 'glibc.malloc.hugetlb=0' }, linux],
      [['compare', 'a'], env, { ...linux, platform: 'darwin' }],
      [['compare', 'a'], env, { ...linux, thpMode: 'always' }],
      [['compare', 'a'], env, { ...linux, thpMode: 'never' }],
      [['compare', 'a'], env, { ...linux, glibc: [2, 31] }],
      [['compare', 'a'], env, { ...linux, glibc: null }], // musl
    ] as const) {
      expect(relaunchEnv([...args], { ...environment }, { ...facts }), args.join(' ')).toBeNull();
    }
    // tests force it whatever the machine
    expect(relaunchEnv(['compare', 'a'], { CKA_WORKBENCH_HUGE_PAGES: '1' }, { platform: 'win32' })).not.toBeNull();
    // without a command (the server): the same conditions, whatever the arguments
    expect(hugePagesEnv(env, linux)).toEqual(relaunchEnv(['compare', 'a', 'b'], env, linux));
    for (const [environment, facts] of [
      [{ CKA_WORKBENCH_RELAUNCHED: '1' }, linux],
      [{ CKA_WORKBENCH_HUGE_PAGES: '0' }, linux],
      [{ GLIBC_TUNABLES: 'glibc.malloc.hugetlb=0' }, linux],
      [env, { ...linux, platform: 'darwin' }],
      [env, { ...linux, thpMode: 'always' }],
      [env, { ...linux, glibc: [2, 34] }],
    ] as const) {
      expect(hugePagesEnv({ ...environment }, { ...facts })).toBeNull();
    }
    expect(commandOf(['--max-probe-examples', 'compare', 'run'])).toBe('run');
  });
});

describe('the relaunched process', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ckawb-relaunch-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // A stand-in for bin.mjs: relaunches as it does, and the second process does what argv[2] says.
  const script = join(dir, 'stand-in.mjs');
  const marker = join(dir, 'interrupted');
  writeFileSync(
    script,
    `import { followParent, relaunch, relaunchEnv, RELAUNCHED } from ${JSON.stringify(
      pathToFileURL(join(repoRoot, 'app/api/huge-pages.mjs')).href,
    )};
import { writeFileSync } from 'node:fs';
const env = relaunchEnv(['compare'], process.env);
if (env) relaunch(env);
else {
  followParent();
  console.log(JSON.stringify({ pid: process.pid, tunables: process.env.GLIBC_TUNABLES, relaunched: process.env[RELAUNCHED] }));
  if (process.argv[2] === 'exit') process.exit(3);
  process.on('SIGINT', () => { writeFileSync(${JSON.stringify(marker)}, 'SIGINT'); process.exit(0); });
  setInterval(() => {}, 1000);
}
`,
  );

  function start(mode: string) {
    const parent = spawn(process.execPath, [script, mode], {
      env: { ...process.env, CKA_WORKBENCH_HUGE_PAGES: '1', GLIBC_TUNABLES: '' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      parent.on('exit', (code, signal) => resolve({ code, signal })),
    );
    const hello = new Promise<{ pid: number; tunables: string; relaunched: string }>((resolve) => {
      let text = '';
      parent.stdout.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        if (text.includes('\n')) resolve(JSON.parse(text.split('\n')[0]!));
      });
    });
    return { parent, exited, hello };
  }

  /** Whether a process runs (a zombie waiting for its new parent to reap it does not). */
  function alive(pid: number): boolean {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return !/^\d+ \(.*\) [ZX]/.test(stat);
    } catch {
      return false;
    }
  }

  /** Resolves when `path` exists (polling: the second process is not ours to wait for). */
  async function appears(path: string): Promise<void> {
    for (let i = 0; i < 500 && !existsSync(path); i++) await new Promise((r) => setTimeout(r, 10));
    expect(existsSync(path)).toBe(true);
  }

  it('runs with huge pages in a second process whose exit code becomes the first’s', async () => {
    const { parent, exited, hello } = start('exit');
    const child = await hello;
    expect(child.pid).not.toBe(parent.pid);
    expect(child).toMatchObject({
      tunables: 'glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=268435456',
      relaunched: '1',
    });
    expect(await exited).toEqual({ code: 3, signal: null });
  });

  it('forwards SIGTERM, and ends with the signal the second process ended with', async () => {
    const { parent, exited, hello } = start('wait');
    const child = await hello;
    parent.kill('SIGTERM');
    expect(await exited).toEqual({ code: null, signal: 'SIGTERM' });
    expect(alive(child.pid)).toBe(false); // the first exits only once the second has
  });

  it('interrupts the second process when the first is killed outright', async () => {
    const { parent, exited, hello } = start('wait');
    await hello;
    parent.kill('SIGKILL');
    await exited;
    await appears(marker); // written by the second process's SIGINT handler
  });
});
