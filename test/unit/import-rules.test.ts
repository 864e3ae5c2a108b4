/**
 * The import rules of .dependency-cruiser.cjs (run by `npm run lint`) catch what they are for, on
 * a fixture tree shaped like the app: two engine folders importing each other through different
 * files (a folder cycle that no file cycle shows), the engine importing the API, and app/common
 * importing a Node built-in.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { cruise } from 'dependency-cruiser';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const config = require('../../.dependency-cruiser.cjs') as { forbidden: object[]; options: object };
const fixture = fileURLToPath(new URL('../fixtures/import-rules/', import.meta.url));

describe('import rules', () => {
  it('fail on a folder cycle, a layer imported upwards, and app/common importing anything', async () => {
    const cwd = process.cwd();
    process.chdir(fixture);
    try {
      const result = await cruise(
        ['app'],
        {
          validate: true,
          ruleSet: { forbidden: config.forbidden } as never,
          tsPreCompilationDeps: true,
          enhancedResolveOptions: { extensions: ['.ts', '.js'] },
        },
        undefined,
      );
      const output = result.output as {
        summary: { violations: { rule: { name: string }; from: string; to: string }[] };
      };
      const violations = output.summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`).sort();
      expect(violations).toEqual([
        'common-imports-nothing: app/common/leaf.ts → path',
        'engine-imports-only-common: app/engine/gamma/upward.ts → app/api/facade.ts',
        'no-folder-cycles: app/engine/alpha → app/engine/beta',
        'no-folder-cycles: app/engine/beta → app/engine/alpha',
      ]);
    } finally {
      process.chdir(cwd);
    }
  });
});
