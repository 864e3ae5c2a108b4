// Huge pages on Linux for the shells' processes that compute: the CLI's commands that do
// (`compare`, `sanity`, `run`, `reproduce`) and the local HTTP server (`npm run serve`).
// Exact CKA computes layers' Grams in the process's worker threads over arrays of hundreds of MiB,
// and receives, copies and saves the Grams the runners made, and with Linux's default
// transparent-huge-page mode ("madvise") malloc hands out 4 KiB pages unless told otherwise; each
// first touch of one is a page fault, and on virtual machines a fault costs more than the
// arithmetic on its page (0.7 s of 3.3 in the e2e bench's folder compare; 7.4-8.0 s against
// 5.3-6.2 s for a 5-model sanity at fashion-mnist:2000). glibc's malloc uses huge pages when
// GLIBC_TUNABLES says glibc.malloc.hugetlb=1, but reads that only when a process starts — so the
// process starts itself again with it (and the runners' other settings, which keep freed memory
// for the workers' next onnxruntime run, and without NODE_EXTRA_CA_CERTS, which it never needs:
// engine/runner/compute-env.mjs), which costs ~0.13 s: a CLI command does not when its
// --probe says it has fewer than SMALL_PROBE examples (a 5-model sanity at 500 gained 0-0.19 s).
// The first process only waits: the second inherits the terminal (Ctrl+C reaches both, as one
// process group; the first ignores it), gets SIGTERM and SIGHUP forwarded, and its exit code or
// signal becomes the first's. If the first is killed outright, the second sees its IPC channel
// close and interrupts itself, as Ctrl+C would. Plain JavaScript, in app/api for both shells: the
// CLI's bin.mjs imports it before anything is built. Runner processes and the desktop app's
// engine host start with the setting from the start (engine/runner/launcher.ts, main/).
// CKA_WORKBENCH_HUGE_PAGES=0 turns this off; =1 relaunches whatever the kernel's mode (for tests).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { computeEnv } from '../engine/runner/compute-env.mjs';

export const RELAUNCHED = 'CKA_WORKBENCH_RELAUNCHED';

/** The kernel's transparent-huge-page mode ("always", "madvise", "never"), or null if unknown. */
export function transparentHugePageMode() {
  try {
    const text = readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8');
    return /\[(\w+)\]/.exec(text)?.[1] ?? null;
  } catch {
    return null;
  }
}

/** glibc's version as [major, minor], or null on other C libraries (musl, macOS, Windows). */
function glibcVersion() {
  const version = process.report?.getReport?.().header?.glibcVersionRuntime;
  const match = typeof version === 'string' ? /^(\d+)\.(\d+)/.exec(version) : null;
  return match ? [Number(match[1]), Number(match[2])] : null;
}

/** The command a command line names: its first word that is not an option (or an option's value). */
export function commandOf(args) {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--max-probe-examples') {
      i++; // the one global option that takes a value
    } else if (!arg.startsWith('-')) {
      return arg;
    }
  }
  return null;
}

const COMPUTING_COMMANDS = new Set(['compare', 'sanity', 'run', 'reproduce']);

/** Below this many examples huge pages save less than starting again costs. */
export const SMALL_PROBE = 1000;

/** The examples a `--probe` of the command line names (fashion-mnist:N, random:N…), or null when it does not say. */
export function probeExamplesOf(args) {
  for (let i = 0; i < args.length; i++) {
    const spec = args[i] === '--probe' ? args[i + 1] : args[i].startsWith('--probe=') ? args[i].slice(8) : null;
    const match = spec ? /^(?:fashion-mnist|random):(\d+)(?::|$)/.exec(spec) : null;
    if (match) return Number(match[1]);
  }
  return null;
}

/**
 * The environment to start the command again with, or null to run it here. `facts` are read
 * lazily, so other commands pay for nothing.
 */
export function relaunchEnv(args, env, facts = {}) {
  if (!COMPUTING_COMMANDS.has(commandOf(args)) || args.includes('--help') || args.includes('-h')) return null;
  if (env.CKA_WORKBENCH_HUGE_PAGES !== '1') {
    const examples = probeExamplesOf(args);
    if (examples !== null && examples < SMALL_PROBE) return null;
  }
  return hugePagesEnv(env, facts);
}

/**
 * The environment that gives this process's malloc huge pages when it starts again, or null when
 * it has them, cannot have them here, or should not ask (CKA_WORKBENCH_HUGE_PAGES=0).
 */
export function hugePagesEnv(env, facts = {}) {
  if (env[RELAUNCHED] === '1' || env.CKA_WORKBENCH_HUGE_PAGES === '0') return null;
  const tunables = env.GLIBC_TUNABLES ?? '';
  if (tunables.includes('glibc.malloc.hugetlb')) return null; // the user's own setting stands
  if (env.CKA_WORKBENCH_HUGE_PAGES !== '1') {
    if ((facts.platform ?? process.platform) !== 'linux') return null;
    // "always" gives huge pages anyway, "never" refuses them: only "madvise" needs the setting
    if ((facts.thpMode ?? transparentHugePageMode()) !== 'madvise') return null;
    const glibc = facts.glibc !== undefined ? facts.glibc : glibcVersion();
    // the tunable exists since glibc 2.35
    if (!glibc || glibc[0] < 2 || (glibc[0] === 2 && glibc[1] < 35)) return null;
  }
  return { ...computeEnv(env), [RELAUNCHED]: '1' };
}

/** Runs this same command line again with `env`, and ends this process as that one ends. */
export function relaunch(env) {
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    env,
  });
  process.on('SIGINT', () => {}); // the terminal sends it to the child too
  for (const signal of ['SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.on('error', (err) => {
    console.error(`cka-workbench: error: could not start the command again (${err.message})`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    if (signal) {
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
    }
    process.exit(code ?? 1);
  });
}

/** In the relaunched process: end as Ctrl+C would when the process that started it is gone. */
export function followParent() {
  if (process.env[RELAUNCHED] !== '1' || !process.channel) return;
  process.channel.unref();
  process.once('disconnect', () => process.kill(process.pid, 'SIGINT'));
}
