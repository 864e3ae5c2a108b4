/**
 * The dependency audit CI runs (.ci/audit.mjs, issue 8 §5): `npm audit` of the runtime
 * dependencies only, failing on high or critical advisories and listing them; passing with
 * moderate or low ones; saying plainly when the registry offers no advisory endpoint (this build
 * network's mirror answers 405) instead of failing for a reason that is not about our
 * dependencies; failing on output it cannot read. `npm` is replaced by a stand-in that prints a
 * chosen report, so every branch runs here.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { repoRoot } from '../helpers/paths.js';

const bin = mkdtempSync(join(tmpdir(), 'ckawb-fake-npm-'));
afterAll(() => rmSync(bin, { recursive: true, force: true }));

function audit(report: string, npmExit = 1) {
  writeFileSync(join(bin, 'report.json'), report);
  const npm = join(bin, 'npm');
  writeFileSync(
    npm,
    `#!/bin/sh\nprintf '%s' "$*" > "${join(bin, 'args')}"\ncat "${join(bin, 'report.json')}"\nexit ${npmExit}\n`,
  );
  chmodSync(npm, 0o755);
  const run = spawnSync(process.execPath, [join(repoRoot, '.ci', 'audit.mjs')], {
    cwd: repoRoot,
    env: { ...process.env, PATH: `${bin}${delimiter}${process.env.PATH}` },
    encoding: 'utf8',
  });
  return { code: run.status, out: run.stdout + run.stderr, args: readFileSync(join(bin, 'args'), 'utf8') };
}

const counts = (c: Record<string, number>) => ({ info: 0, low: 0, moderate: 0, high: 0, critical: 0, ...c });

describe('the CI dependency audit', () => {
  it('audits the runtime dependencies only', () => {
    expect(audit(JSON.stringify({ metadata: { vulnerabilities: counts({}) } }), 0).args).toBe(
      'audit --omit=dev --json',
    );
  });

  it('fails on a high or a critical advisory, naming the package', () => {
    for (const severity of ['high', 'critical']) {
      const result = audit(
        JSON.stringify({
          vulnerabilities: {
            'some-package': { severity, range: '<1.2.3' },
            'other-package': { severity: 'low', range: '*' },
          },
          metadata: { vulnerabilities: counts({ [severity]: 1, low: 1 }) },
        }),
      );
      expect(result.code, severity).toBe(1);
      expect(result.out).toContain(`${severity}: some-package (<1.2.3)`);
      expect(result.out).not.toContain('other-package');
    }
  });

  it('passes with moderate and low advisories, reporting the counts', () => {
    const result = audit(
      JSON.stringify({
        vulnerabilities: { x: { severity: 'moderate', range: '*' } },
        metadata: { vulnerabilities: counts({ moderate: 2, low: 3 }) },
      }),
    );
    expect(result.code).toBe(0);
    expect(result.out).toContain(
      'runtime dependency advisories: {"info":0,"low":3,"moderate":2,"high":0,"critical":0}',
    );
  });

  it('says so and skips when the registry has no advisory endpoint (405, as here)', () => {
    const result = audit(
      JSON.stringify({
        message: '405 Method Not Allowed - POST https://registry.npmjs.org/-/npm/v1/security/advisories/bulk',
        statusCode: 405,
      }),
    );
    expect(result.code).toBe(0);
    expect(result.out).toMatch(/npm audit could not query the advisory database here: 405 Method Not Allowed.*skipped/);
  });

  it('fails when npm prints something it cannot read', () => {
    expect(audit('npm ERR! something else entirely').code).toBe(1);
    expect(audit(JSON.stringify({ unexpected: true })).code).toBe(1);
  });
});
