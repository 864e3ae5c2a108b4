/**
 * Whether each model of an experiment can take its probe set, checked before anything is run:
 * one `openProbe({spec, model})` per model (the engine reads the probe against that model's
 * input). A form whose models do not all fit cannot start a run. Pure parts, tested without a page.
 */
import type { ProbeInfo } from '@common/contract.js';

/** One model to check: its path and name, and the probe it takes (null while the form has none). */
export interface FitCheck {
  model: string;
  label: string;
  probe: string | null;
  /** Text probes: the model's tokenizer.json (default: the one beside the model). */
  tokenizer?: string;
}

export type FitResult =
  { state: 'checking' } | { state: 'fits'; info: ProbeInfo } | { state: 'misfit'; reason: string };

export type FitVerdict = 'fits' | 'checking' | 'misfit' | 'incomplete';

export const fitKey = (check: Pick<FitCheck, 'model' | 'probe' | 'tokenizer'>): string =>
  `${check.probe ?? ''}\u0000${check.model}\u0000${check.tokenizer ?? ''}`;

/**
 * The form's verdict: `fits` only when every model has a probe and fits it; `misfit` as soon as
 * one does not; `incomplete` without models or a probe.
 */
export function fitVerdict(checks: readonly FitCheck[], results: ReadonlyMap<string, FitResult>): FitVerdict {
  if (checks.length === 0 || checks.some((c) => c.probe === null)) return 'incomplete';
  const states = checks.map((c) => results.get(fitKey(c))?.state ?? 'checking');
  if (states.includes('misfit')) return 'misfit';
  return states.every((s) => s === 'fits') ? 'fits' : 'checking';
}

/**
 * The engine's reason without what the list already says: the probe spec and the model's path
 * it starts with ("probe fashion-mnist:500 gives examples of …" → "gives examples of …").
 */
export function shortReason(reason: string, check: FitCheck): string {
  let text = reason;
  for (const prefix of [`${check.model}: `, `probe ${check.probe ?? ''} `]) {
    if (text.startsWith(prefix)) text = text.slice(prefix.length);
  }
  return text;
}
