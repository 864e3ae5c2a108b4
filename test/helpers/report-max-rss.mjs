// Preloaded into a child process (`node --import`): on exit, writes the process's peak resident
// memory (getrusage ru_maxrss, KiB) to the file named by CKAWB_MAX_RSS_FILE.
import { writeFileSync } from 'node:fs';

process.on('exit', () => {
  const file = process.env.CKAWB_MAX_RSS_FILE;
  if (file) writeFileSync(file, String(process.resourceUsage().maxRSS));
});
