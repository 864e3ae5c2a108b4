/** Sizes of files and caches in text: printed in binary units, read in the units people type. */

/** `1.5 GiB`, `640 KiB`, `12 bytes`: binary units up to TiB. */
export function formatSize(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} bytes` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  byte: 1,
  bytes: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  // Binary: KiB…, and the bare letters as `du -h`/`ls -h` print them.
  k: 2 ** 10,
  m: 2 ** 20,
  g: 2 ** 30,
  t: 2 ** 40,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

/** The sizes `parseSize` reads, for messages. */
export const SIZE_FORMS =
  'a number with a unit: 500MB, 2GiB, 1.5G (KB/MB/GB are powers of 1000, KiB/MiB/GiB and K/M/G of 1024)';

/** `2GiB` → 2147483648, `500 MB` → 500000000, `1048576` → 1048576; null when it is not a size. */
export function parseSize(text: string): number | null {
  const match = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*([a-z]*)\s*$/i.exec(text);
  if (!match) return null;
  const scale = UNITS[match[2]!.toLowerCase()];
  if (scale === undefined) return null;
  const bytes = Math.round(Number(match[1]) * scale);
  return Number.isSafeInteger(bytes) ? bytes : null;
}
