// Preloaded into a child process (`node --import`): on exit, writes what the process used as JSON
// to the file named by CKAWB_USAGE_FILE: its peak resident memory (getrusage ru_maxrss, KiB) and
// the CPU time it spent (user + system, ms). CPU time, unlike wall time, does not grow when other
// work shares the machine.
import { writeFileSync } from 'node:fs';

process.on('exit', () => {
  const file = process.env.CKAWB_USAGE_FILE;
  if (!file) return;
  const usage = process.resourceUsage();
  writeFileSync(
    file,
    JSON.stringify({ maxRssKiB: usage.maxRSS, cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000 }),
  );
});
