/**
 * `cka-workbench cache info|clear|limit` over the cache of the data directory (activations, Grams
 * and CCA-family factors under activations/ and grams/):
 *
 *   cache info [--json]      size, entries, limit, use by kind and by model
 *   cache clear [--json]     removes every entry running work does not use; prints what it freed
 *   cache limit SIZE         sets the limit (2GiB, 500MB, …; `default` for the default) and evicts down to it
 *
 * All take --data-dir. JSON has `bytes`, `entries`, `limit` (bytes), `byKind`, and `byModel`,
 * `pinned`, `limitIsSet`, `dir`.
 */
import type { Command } from 'commander';
import type { CacheInfo } from '../../common/contract.js';
import { WorkbenchError } from '../../common/errors.js';
import { SIZE_FORMS, formatSize, parseSize } from '../../common/sizes.js';
import type { CliContext } from '../context.js';
import { table } from '../output.js';
import { addDataDirOption, withApi } from './run-support.js';

/** The JSON form: the issue's `{bytes, entries, limit, byKind}` first, then the rest. */
export function cacheJson(info: CacheInfo) {
  return {
    bytes: info.bytes,
    entries: info.entries,
    limit: info.limitBytes,
    byKind: info.byKind,
    byModel: info.byModel,
    pinned: info.pinned,
    limitIsSet: info.limitIsSet,
    dir: info.dir,
  };
}

const entriesText = (n: number) => `${n} entr${n === 1 ? 'y' : 'ies'}`;

export function formatCacheInfo(info: CacheInfo): string {
  const limit = `${formatSize(info.limitBytes)}${info.limitIsSet ? '' : " (default: the smaller of 5 GiB and 10% of the disk's space)"}`;
  const lines = [
    `cache in ${info.dir} (activations/, grams/)`,
    `size:  ${formatSize(info.bytes)} in ${entriesText(info.entries)}`,
    `limit: ${limit}`,
  ];
  if (info.pinned > 0) lines.push(`in use by running work: ${entriesText(info.pinned)} (never evicted)`);
  if (info.entries === 0) return lines.join('\n');
  const kinds: [string, { entries: number; bytes: number }][] = [
    ['activations', info.byKind.activation],
    ['Grams', info.byKind.gram],
    ['CCA factors', info.byKind.factors],
  ];
  lines.push(
    '',
    table(
      ['kind', 'entries', 'size'],
      kinds
        .filter(([, use]) => use.entries > 0)
        .map(([kind, use]) => [kind, String(use.entries), formatSize(use.bytes)]),
    ),
    '',
    table(
      ['model', 'sha256', 'entries', 'size'],
      info.byModel.map((m) => [
        m.name ?? '(not in the library)',
        m.modelSha256.slice(0, 12),
        String(m.entries),
        formatSize(m.bytes),
      ]),
    ),
  );
  return lines.join('\n');
}

export function registerCache(program: Command, context: CliContext): void {
  const cache = program
    .command('cache')
    .description('the cache of activations, Grams and factors: its size, its limit, emptying it');

  addDataDirOption(
    cache.command('info').description('size, entries and limit, by kind and by model').option('--json', 'print JSON'),
  ).action(async (options: { json?: boolean; dataDir?: string }) => {
    await withApi(context, options.dataDir, async (api) => {
      const info = await api.getCacheInfo({});
      context.print(options.json ? JSON.stringify(cacheJson(info), null, 2) : formatCacheInfo(info));
    });
  });

  addDataDirOption(
    cache
      .command('clear')
      .description('remove every entry (except what running work uses); finished results stay in the history')
      .option('--json', 'print the cache info after clearing as JSON'),
  ).action(async (options: { json?: boolean; dataDir?: string }) => {
    await withApi(context, options.dataDir, async (api) => {
      const before = await api.getCacheInfo({});
      const after = await api.clearCache({});
      if (options.json) return context.print(JSON.stringify(cacheJson(after), null, 2));
      const kept = after.entries > 0 ? `; kept ${entriesText(after.entries)} running work uses` : '';
      context.print(
        `freed ${formatSize(Math.max(0, before.bytes - after.bytes))} (${entriesText(Math.max(0, before.entries - after.entries))})${kept}`,
      );
    });
  });

  addDataDirOption(
    cache
      .command('limit')
      .description('set the size limit (least recently used entries go first when it is exceeded)')
      .argument('<size>', "e.g. 2GiB, 500MB, 1.5G; 'default': the smaller of 5 GiB and 10% of the disk's space"),
  ).action(async (size: string, options: { dataDir?: string }) => {
    const bytes = size.trim().toLowerCase() === 'default' ? null : parseSize(size);
    if (bytes === null && size.trim().toLowerCase() !== 'default') {
      throw new WorkbenchError('BAD_INPUT', `cache limit must be ${SIZE_FORMS} or 'default', got '${size}'`);
    }
    await withApi(context, options.dataDir, async (api) => {
      const before = await api.getCacheInfo({});
      const after = await api.setCacheLimit({ bytes });
      const freed = before.bytes - after.bytes;
      context.print(
        `cache limit ${formatSize(after.limitBytes)}${after.limitIsSet ? '' : ' (the default)'}; the cache holds ${formatSize(after.bytes)}` +
          (freed > 0 ? ` (evicted ${formatSize(freed)}, least recently used first)` : ''),
      );
    });
  });
}
