/** Sizes people type (`cache limit 2GiB`, the cache panel) and how sizes print. */
import { describe, expect, it } from 'vitest';
import { formatSize, parseSize } from '../../app/common/sizes.js';

describe('sizes', () => {
  it('reads decimal and binary units, bare numbers as bytes, and nothing else', () => {
    expect(parseSize('500MB')).toBe(500_000_000);
    expect(parseSize('2GiB')).toBe(2 * 2 ** 30);
    expect(parseSize(' 1.5 g ')).toBe(1.5 * 2 ** 30);
    expect(parseSize('64k')).toBe(65_536);
    expect(parseSize('1TB')).toBe(1e12);
    expect(parseSize('4096')).toBe(4096);
    expect(parseSize('0')).toBe(0);
    expect(parseSize('.5KiB')).toBe(512);
    for (const bad of ['', 'lots', '-1GB', '2 GiBs', '1e3', '2XB', '1,5G', '99999999999TB']) {
      expect(parseSize(bad)).toBeNull();
    }
  });

  it('prints binary units, and reads back what it prints', () => {
    expect(formatSize(0)).toBe('0 bytes');
    expect(formatSize(1023)).toBe('1023 bytes');
    expect(formatSize(1536)).toBe('1.5 KiB');
    expect(formatSize(750_000_000)).toBe('715 MiB');
    expect(formatSize(5 * 2 ** 30)).toBe('5.0 GiB');
    expect(parseSize(formatSize(5 * 2 ** 30).replace(' ', ''))).toBe(5 * 2 ** 30);
  });
});
