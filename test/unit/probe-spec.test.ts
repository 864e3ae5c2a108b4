import { describe, expect, it } from 'vitest';
import { IMAGENET_MEAN, IMAGENET_STD, parseProbeSpec } from '../../app/engine/probe/spec.js';

describe('probe specs', () => {
  it.each([
    ['fashion-mnist:500', { kind: 'fashion-mnist', n: 500 }],
    ['random:64', { kind: 'random', n: 64, seed: 0 }],
    ['random:64:7', { kind: 'random', n: 64, seed: 7 }],
    ['npy:data/x.npy', { kind: 'npy', path: 'data/x.npy' }],
    ['npz:data/x.npz', { kind: 'npz', path: 'data/x.npz' }],
    ['npz:data/x.npz:inputs', { kind: 'npz', path: 'data/x.npz', key: 'inputs' }],
    ['npz:C:\\data\\x.npz:inputs', { kind: 'npz', path: 'C:\\data\\x.npz', key: 'inputs' }],
    ['images:photos', { kind: 'images', dir: 'photos', options: {} }],
  ])('%s', (text, want) => {
    expect(parseProbeSpec(text)).toEqual(want);
  });

  it('reads image options from the query, and options given apart win', () => {
    expect(parseProbeSpec('images:photos?size=32x48&mode=gray&layout=nhwc&mean=0.5&std=0.25')).toEqual({
      kind: 'images',
      dir: 'photos',
      options: { size: [32, 48], mode: 'gray', layout: 'nhwc', mean: [0.5], std: [0.25] },
    });
    expect(parseProbeSpec('images:p?norm=imagenet&size=224', { mode: 'rgb', size: [64, 64] })).toEqual({
      kind: 'images',
      dir: 'p',
      options: { mean: IMAGENET_MEAN, std: IMAGENET_STD, size: [64, 64], mode: 'rgb' },
    });
  });

  it.each([
    [
      'mnist',
      "probe 'mnist': expected fashion-mnist:N, npy:PATH, npz:PATH[:KEY], images:DIR, text:FILE or random:N[:SEED]",
    ],
    ['cifar:10', "probe 'cifar:10': unknown kind 'cifar'"],
    ['fashion-mnist:0', "probe 'fashion-mnist:0': N must be a positive integer, got '0'"],
    ['fashion-mnist:ten', "N must be a positive integer, got 'ten'"],
    ['random:10:-1', "SEED must be a non-negative integer, got '-1'"],
    ['random:10:1:2', 'expected random:N[:SEED]'],
    ['npy:', "nothing after 'npy:'"],
    ['images:p?mode=cmyk', "mode must be gray or rgb, got 'cmyk'"],
    ['images:p?size=3x4x5', "size must be HxW or one number, got '3x4x5'"],
    ['images:p?std=0', 'std must be positive'],
    ['images:p?dpi=300', "unknown image option 'dpi'"],
  ])('%s is refused with a clear message', (text, message) => {
    expect(() => parseProbeSpec(text)).toThrow(message);
    try {
      parseProbeSpec(text);
    } catch (err) {
      expect((err as { code: string }).code).toBe('BAD_PROBE');
    }
  });
});
