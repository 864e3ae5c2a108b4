// The environment of the processes that run onnxruntime over large buffers: glibc malloc settings
// (GLIBC_TUNABLES) for the model runners, the CLI's commands and the local server that compute
// (app/api/huge-pages.mjs starts them again with `computeEnv`), and the desktop app's engine host;
// and for the processes the CLI starts, no NODE_EXTRA_CA_CERTS. Plain JavaScript, so the CLI's
// launcher can import it before anything is built; engine/runner/launcher.ts uses it too.

const HUGE_PAGES = 'glibc.malloc.hugetlb=1';

/** `tunables` (a GLIBC_TUNABLES value) with each of `settings` added unless it names that key: the user's own wins. */
function withTunables(tunables, settings) {
  const parts = tunables ? [tunables] : [];
  for (const setting of settings) {
    const key = setting.slice(0, setting.indexOf('='));
    if (!tunables?.includes(key)) parts.push(setting);
  }
  return parts.join(':');
}

/**
 * Huge pages: glibc's malloc asks for transparent huge pages (`glibc.malloc.hugetlb=1`, glibc ≥
 * 2.35; others ignore it) on kernels that grant them on request. A runner touches fresh activation
 * buffers of tens of MB per batch, and at one fault per 4 KiB page that cost more than the model's
 * arithmetic (whole compare of two zoo CNNs on 500 images: 2.5 s → 1.7–2.0 s).
 *
 * And memory kept for reuse. onnxruntime-node copies every output of every run
 * into a fresh ArrayBuffer; by default blocks that large are mmapped and unmapped again, so each
 * run faults in new pages. Blocks of up to 32 MiB from the heap, which keeps up to 256 MiB freed
 * (the dynamic thresholds off), put the next run on pages already touched:
 * - a runner, plain-d4 with its 12 ReLUs as outputs, 5000 examples: onnxruntime alone took 1.3–1.9 s
 *   with huge pages only and 0.92–1.1 s so (the logits alone: 0.6 s); the whole `extract` of them,
 *   3.1–3.4 s and 2.9–3.0 s;
 * - the compute workers' Gram runs: the e2e bench's folder compare (n = 2000, 14 layers) took
 *   2.29–2.39 s against 2.32–2.60 s, and a minibatch:100 compare of two zoo CNNs on 5000 examples
 *   2.43–2.78 s against 2.54–3.09 s (four alternating runs each).
 *
 * A setting of the user's own for any of these keys wins.
 */
export function runnerTunables(tunables) {
  return withTunables(tunables, [
    HUGE_PAGES,
    'glibc.malloc.mmap_threshold=33554432',
    'glibc.malloc.trim_threshold=268435456',
  ]);
}

/**
 * `env` for a child process that computes and never uses TLS: the runners' malloc settings
 * (above), and without NODE_EXTRA_CA_CERTS, a bundle Node reads and parses as it starts (40 of the
 * 90 ms a start takes here, with the system's bundle).
 */
export function computeEnv(env) {
  const { NODE_EXTRA_CA_CERTS: _certificates, ...inherited } = env;
  return { ...inherited, GLIBC_TUNABLES: runnerTunables(env.GLIBC_TUNABLES) };
}
