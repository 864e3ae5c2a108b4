/**
 * Probe set specs: the text people write (CLI `--probe`, experiment specs) parsed into a typed
 * description.
 *
 *   fashion-mnist:N                  the first N images of the built-in Fashion-MNIST test subset
 *   npy:PATH                         one array, first axis = examples
 *   npz:PATH[:KEY]                   one array of an .npz archive (KEY may be left out if it holds one)
 *   images:DIR[?OPTIONS]             PNG/JPEG files of a folder, e.g.
 *                                    images:photos?size=32x32&mode=rgb&norm=imagenet&layout=nchw
 *   random:N[:SEED]                  N Gaussian examples of the model's input shape (seed 0)
 *   text:FILE[?tokenizer=PATH&max_length=N]
 *                                    one text per line (.txt) or per JSON line's `text` (.jsonl),
 *                                    tokenized with the model's tokenizer.json
 *
 * Image options (query form, or `ImageOptions` passed alongside): size=HxW (or one number),
 * mode=gray|rgb, mean=a[,b,c], std=a[,b,c], norm=imagenet (ImageNet mean/std), layout=nchw|nhwc.
 */
import { WorkbenchError } from '../../common/errors.js';

export interface ImageOptions {
  /** [height, width]; default: the model input's spatial size. */
  size?: [number, number];
  /** Default: from the model input's channel count (1 → gray, 3 → rgb). */
  mode?: 'gray' | 'rgb';
  /** Per channel, applied to pixels scaled to [0, 1]: (x − mean) / std. Default 0 and 1. */
  mean?: number[];
  std?: number[];
  /** Default: from the model input's shape (channels first or last). */
  layout?: 'nchw' | 'nhwc';
}

export type ProbeSpec =
  | { kind: 'fashion-mnist'; n: number }
  | { kind: 'npy'; path: string }
  | { kind: 'npz'; path: string; key?: string }
  | { kind: 'images'; dir: string; options: ImageOptions }
  | { kind: 'random'; n: number; seed: number }
  | { kind: 'text'; path: string; tokenizer?: string; maxLength?: number };

export const IMAGENET_MEAN = [0.485, 0.456, 0.406];
export const IMAGENET_STD = [0.229, 0.224, 0.225];

const SPEC_HELP = 'fashion-mnist:N, npy:PATH, npz:PATH[:KEY], images:DIR, text:FILE or random:N[:SEED]';

function bad(text: string, problem: string): never {
  throw new WorkbenchError('BAD_PROBE', `probe '${text}': ${problem}`);
}

function positiveInt(text: string, value: string, what: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1)
    bad(text, `${what} must be a positive integer, got '${value}'`);
  return n;
}

export function parseProbeSpec(text: string, imageOptions: ImageOptions = {}): ProbeSpec {
  const colon = text.indexOf(':');
  if (colon <= 0) bad(text, `expected ${SPEC_HELP}`);
  const kind = text.slice(0, colon);
  const rest = text.slice(colon + 1);
  if (rest.length === 0) bad(text, `nothing after '${kind}:'`);
  switch (kind) {
    case 'fashion-mnist':
      return { kind, n: positiveInt(text, rest, 'N') };
    case 'random': {
      const [n, seed, ...extra] = rest.split(':');
      if (extra.length > 0) bad(text, 'expected random:N[:SEED]');
      const seedValue = seed === undefined ? 0 : Number(seed);
      if (seed !== undefined && (!/^\d+$/.test(seed) || !Number.isSafeInteger(seedValue))) {
        bad(text, `SEED must be a non-negative integer, got '${seed}'`);
      }
      return { kind, n: positiveInt(text, n!, 'N'), seed: seedValue };
    }
    case 'npy':
      return { kind, path: rest };
    case 'npz': {
      // PATH may contain ':' (Windows drives); a KEY follows the last ':' after the .npz name.
      const match = /^(.*\.npz):([^/\\:]+)$/i.exec(rest);
      return match ? { kind, path: match[1]!, key: match[2]! } : { kind, path: rest };
    }
    case 'images': {
      const q = rest.lastIndexOf('?');
      const dir = q >= 0 ? rest.slice(0, q) : rest;
      const fromQuery = q >= 0 ? parseImageQuery(text, rest.slice(q + 1)) : {};
      return { kind, dir, options: { ...fromQuery, ...definedOnly(imageOptions) } };
    }
    case 'text': {
      const q = rest.lastIndexOf('?');
      const path = q >= 0 ? rest.slice(0, q) : rest;
      if (path === '') bad(text, 'nothing after text:');
      return { kind, path, ...(q >= 0 ? parseTextQuery(text, rest.slice(q + 1)) : {}) };
    }
    default:
      bad(text, `unknown kind '${kind}' (expected ${SPEC_HELP})`);
  }
}

function parseTextQuery(text: string, query: string): { tokenizer?: string; maxLength?: number } {
  const options: { tokenizer?: string; maxLength?: number } = {};
  for (const pair of query.split('&').filter(Boolean)) {
    const eq = pair.indexOf('=');
    const key = eq >= 0 ? pair.slice(0, eq) : pair;
    const value = eq >= 0 ? decodeURIComponent(pair.slice(eq + 1)) : '';
    if (key === 'tokenizer' && value !== '') options.tokenizer = value;
    else if (key === 'max_length') options.maxLength = positiveInt(text, value, 'max_length');
    else bad(text, `unknown text option '${key}' (tokenizer, max_length)`);
  }
  return options;
}

function definedOnly(options: ImageOptions): ImageOptions {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as ImageOptions;
}

function numbers(text: string, value: string, what: string): number[] {
  const list = value.split(',').map((v) => Number(v.trim()));
  if (list.length === 0 || list.some((v) => !Number.isFinite(v))) bad(text, `${what} must be numbers, got '${value}'`);
  return list;
}

export function parseImageSize(text: string, value: string): [number, number] {
  const parts = value.toLowerCase().split('x');
  if (parts.length > 2) bad(text, `size must be HxW or one number, got '${value}'`);
  const h = positiveInt(text, parts[0]!, 'size');
  const w = parts.length === 2 ? positiveInt(text, parts[1]!, 'size') : h;
  return [h, w];
}

function parseImageQuery(text: string, query: string): ImageOptions {
  const options: ImageOptions = {};
  for (const pair of query.split('&').filter(Boolean)) {
    const eq = pair.indexOf('=');
    const key = eq >= 0 ? pair.slice(0, eq) : pair;
    const value = eq >= 0 ? decodeURIComponent(pair.slice(eq + 1)) : '';
    switch (key) {
      case 'size':
        options.size = parseImageSize(text, value);
        break;
      case 'mode':
        if (value !== 'gray' && value !== 'rgb') bad(text, `mode must be gray or rgb, got '${value}'`);
        options.mode = value;
        break;
      case 'layout':
        if (value !== 'nchw' && value !== 'nhwc') bad(text, `layout must be nchw or nhwc, got '${value}'`);
        options.layout = value;
        break;
      case 'mean':
        options.mean = numbers(text, value, 'mean');
        break;
      case 'std':
        options.std = numbers(text, value, 'std');
        if (options.std.some((s) => s <= 0)) bad(text, 'std must be positive');
        break;
      case 'norm':
        if (value !== 'imagenet') bad(text, `norm must be imagenet, got '${value}'`);
        options.mean = IMAGENET_MEAN;
        options.std = IMAGENET_STD;
        break;
      default:
        bad(text, `unknown image option '${key}' (size, mode, mean, std, norm, layout)`);
    }
  }
  return options;
}
