// `npm audit` of runtime dependencies, failing on high or critical advisories. Where the
// advisory endpoint cannot be reached (this build network's registry mirror only answers GET),
// it says so plainly instead of failing for a reason that is not about our dependencies.
import { spawnSync } from 'node:child_process';

const result = spawnSync('npm', ['audit', '--omit=dev', '--json'], { encoding: 'utf8' });
let report;
try {
  report = JSON.parse(result.stdout);
} catch {
  console.error('npm audit printed no JSON:', result.stderr.trim());
  process.exit(1);
}
if (report.metadata?.vulnerabilities) {
  const counts = report.metadata.vulnerabilities;
  console.log('runtime dependency advisories:', JSON.stringify(counts));
  if ((counts.high ?? 0) + (counts.critical ?? 0) > 0) {
    for (const [name, v] of Object.entries(report.vulnerabilities ?? {})) {
      if (v.severity === 'high' || v.severity === 'critical') console.error(`  ${v.severity}: ${name} (${v.range})`);
    }
    process.exit(1);
  }
} else if (report.statusCode || report.message) {
  console.warn(
    `npm audit could not query the advisory database here: ${report.message ?? report.statusCode}; skipped.`,
  );
} else {
  console.error('unexpected npm audit output');
  process.exit(1);
}
