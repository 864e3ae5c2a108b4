/**
 * A model's tokenizer.json (Hugging Face format) through @huggingface/tokenizers, made to give the
 * ids the Rust `tokenizers` library gives:
 *
 * - truncation in Rust's order: the model's tokens are cut to `maxLength − (special tokens the
 *   post-processor adds)`, then the specials are added (tokenizers.js neither truncates nor pads);
 * - every id is checked: a token the vocabulary lacks becomes the unknown token when the model
 *   declares one (tokenizers.js reads WordLevel models as "Legacy", whose unknown id comes from
 *   tokenizer_config.json's `unk_token` only: the model's own `unk_token` is passed on), otherwise
 *   the text is refused naming the token;
 * - the length limit is the smallest of tokenizer_config.json's `model_max_length` (below 10⁶;
 *   Hugging Face writes 10³⁰ for "none"), tokenizer.json's `truncation.max_length`, and the model's
 *   own limit when the caller knows one; the padding id is tokenizer.json's `padding.pad_id`, else
 *   the pad token's id, else 0.
 *
 * Differences of tokenizers.js from the Rust rules that are not corrected here (none changes the
 * ids of the test sentences): its `Whitespace` pre-tokenizer treats only ASCII letters as word
 * characters (Rust keeps `café` whole), its BPE maps merged tokens missing from the vocabulary to
 * [UNK] where Rust maps the characters, and its BertNormalizer lowercases before stripping accents.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { Tokenizer } from '@huggingface/tokenizers';
import { WorkbenchError } from '../../common/errors.js';
import { FILE_SIZE_LIMITS } from '../io/regular-file.js';
import { readLocalFile } from './local-file.js';
import { tokenizerConfigFile, tokenizerFile } from './tokenizer-files.js';

/** Hugging Face writes int(1e30) as model_max_length when a model has no limit. */
const NO_LIMIT = 1_000_000;

export interface Encoded {
  ids: number[];
  typeIds: number[];
  truncated: boolean;
}

export interface LoadedTokenizer {
  /** The tokenizer.json read. */
  path: string;
  configPath: string | null;
  /** sha256 of tokenizer.json and its config: what tokenization depends on. */
  digest: string;
  /** The limit the files declare (null: none). */
  maxLength: number | null;
  padId: number;
  padTypeId: number;
  /** Encodes one text, truncated to `limit` tokens (specials included) in Rust's order. */
  encode(text: string, limit: number | null): Encoded;
}

interface TokenizerJson {
  model?: { type?: string; unk_token?: string | null; vocab?: unknown };
  truncation?: { max_length?: number } | null;
  padding?: { pad_id?: number; pad_type_id?: number; pad_token?: string } | null;
  added_tokens?: { id: number; content: string }[];
  post_processor?: unknown;
}

interface TokenizerConfig {
  model_max_length?: number;
  unk_token?: string | { content?: string };
  pad_token?: string | { content?: string };
  [key: string]: unknown;
}

function tokenText(value: string | { content?: string } | undefined | null): string | undefined {
  if (typeof value === 'string') return value;
  return value?.content ?? undefined;
}

function parseJson(bytes: Buffer, path: string, what: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch (err) {
    throw new WorkbenchError('BAD_PROBE', `${what} ${path} is not valid JSON (${(err as Error).message})`);
  }
}

export async function loadTokenizer(path: string): Promise<LoadedTokenizer> {
  const file = tokenizerFile(path);
  const bytes = await readLocalFile(file, 'tokenizer', FILE_SIZE_LIMITS.tokenizer);
  const json = parseJson(bytes, file, 'tokenizer') as TokenizerJson;
  if (typeof json !== 'object' || json === null || typeof json.model !== 'object' || json.model === null) {
    throw new WorkbenchError('BAD_PROBE', `tokenizer ${file} is not a tokenizer.json (it has no 'model')`);
  }
  const configPath = tokenizerConfigFile(file);
  const configBytes = existsSync(configPath)
    ? await readLocalFile(configPath, 'tokenizer config', FILE_SIZE_LIMITS.json)
    : null;
  const config = (configBytes ? parseJson(configBytes, configPath, 'tokenizer config') : {}) as TokenizerConfig;
  const modelUnk = typeof json.model.unk_token === 'string' ? json.model.unk_token : undefined;
  // tokenizers.js reads the unknown token of WordLevel ("Legacy") models from the config only.
  const libraryConfig: TokenizerConfig = { ...config };
  if (tokenText(config.unk_token) === undefined && modelUnk !== undefined) libraryConfig.unk_token = modelUnk;
  let tokenizer: Tokenizer;
  try {
    tokenizer = new Tokenizer({ added_tokens: [], ...json }, libraryConfig);
  } catch (err) {
    throw new WorkbenchError('BAD_PROBE', `tokenizer ${file} cannot be read: ${(err as Error).message}`);
  }
  const unkToken = modelUnk ?? tokenText(config.unk_token);
  const unkId = unkToken !== undefined ? tokenizer.token_to_id(unkToken) : undefined;
  const limits = [
    typeof config.model_max_length === 'number' && config.model_max_length < NO_LIMIT ? config.model_max_length : null,
    typeof json.truncation?.max_length === 'number' ? json.truncation.max_length : null,
  ].filter((v): v is number => v !== null && Number.isInteger(v) && v > 0);
  const padToken = json.padding?.pad_token ?? tokenText(config.pad_token);
  const padId = json.padding?.pad_id ?? (padToken !== undefined ? tokenizer.token_to_id(padToken) : undefined) ?? 0;
  const digest = createHash('sha256')
    .update(bytes)
    .update('\0')
    .update(configBytes ?? '')
    .digest('hex');

  const checkIds = (ids: (number | undefined)[], tokens: string[], text: string): number[] =>
    ids.map((id, i) => {
      if (typeof id === 'number' && Number.isInteger(id)) return id;
      if (unkId !== undefined) return unkId;
      throw new WorkbenchError(
        'BAD_PROBE',
        `tokenizer ${file}: '${tokens[i]}' (in "${text.slice(0, 60)}") is not in the vocabulary and the tokenizer declares no unknown token`,
      );
    });

  return {
    path: file,
    configPath: configBytes ? configPath : null,
    digest,
    maxLength: limits.length > 0 ? Math.min(...limits) : null,
    padId,
    padTypeId: json.padding?.pad_type_id ?? 0,
    encode(text, limit) {
      const full = tokenizer.encode(text, { return_token_type_ids: true });
      const typeIds =
        (full as { token_type_ids?: number[] }).token_type_ids ?? new Array<number>(full.ids.length).fill(0);
      if (limit === null || full.ids.length <= limit) {
        return { ids: checkIds(full.ids, full.tokens, text), typeIds, truncated: false };
      }
      // Rust order: cut the model's own tokens, then let the post-processor add the specials.
      const content = tokenizer.encode(text, { add_special_tokens: false });
      const specials = full.ids.length - content.ids.length;
      const keep = Math.max(0, limit - specials);
      const kept = content.tokens.slice(0, keep);
      const keptIds = checkIds(content.ids.slice(0, keep), kept, text);
      const processed: { tokens: string[]; token_type_ids?: number[] | undefined } = tokenizer.post_processor
        ? tokenizer.post_processor(kept, null, true)
        : { tokens: kept };
      const at = offsetOf(processed.tokens, kept);
      const ids = processed.tokens.map((token, i) =>
        i >= at && i < at + kept.length
          ? keptIds[i - at]!
          : checkIds([tokenizer.token_to_id(token)], [token], text)[0]!,
      );
      return {
        ids: ids.slice(0, Math.max(limit, 0)),
        typeIds: (processed.token_type_ids ?? new Array<number>(ids.length).fill(0)).slice(0, Math.max(limit, 0)),
        truncated: true,
      };
    },
  };
}

/** Where `part` sits in `whole` (the post-processor keeps a sequence's tokens together). */
function offsetOf(whole: string[], part: string[]): number {
  if (part.length === 0) return whole.length;
  for (let o = 0; o + part.length <= whole.length; o++) {
    if (part.every((t, i) => whole[o + i] === t)) return o;
  }
  return 0;
}
