/**
 * Where a tokenizer.json is: the file a path names (or the one in the folder it names), or the one
 * beside a model. Without the tokenizer library, for the modules that only list a spec's files.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** The tokenizer.json a path names: the file itself, or `tokenizer.json` in the folder. */
export function tokenizerFile(path: string): string {
  const absolute = resolve(path);
  try {
    return statSync(absolute).isDirectory() ? join(absolute, 'tokenizer.json') : absolute;
  } catch {
    return absolute;
  }
}

/** A model's own tokenizer: tokenizer.json beside the .onnx file, if there is one. */
export function tokenizerBeside(modelPath: string): string | null {
  const candidate = join(dirname(resolve(modelPath)), 'tokenizer.json');
  return existsSync(candidate) ? candidate : null;
}

/** The tokenizer_config.json a tokenizer.json is read with (limits, special tokens): the one beside it. */
export function tokenizerConfigFile(tokenizerJson: string): string {
  return join(dirname(tokenizerJson), 'tokenizer_config.json');
}
