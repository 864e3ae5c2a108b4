/** How runs read in the UI: stages, status words, durations, ETA and throughput. */
import type { RunInfo, RunProgress, RunStage, RunStatus } from '@common/contract.js';
import { STAGE_LABELS } from '@common/run-stages.js';

/** The stages in order, named as the engine's messages name them. */
export const STAGES: { stage: RunStage; label: string }[] = (Object.keys(STAGE_LABELS) as RunStage[]).map((stage) => ({
  stage,
  label: STAGE_LABELS[stage],
}));

/**
 * The later of two reports of one run's progress (events and fetched details race; a run's
 * fraction never goes back), or whichever exists.
 */
export function laterProgress(
  a: RunProgress | null | undefined,
  b: RunProgress | null | undefined,
): RunProgress | null {
  if (!a) return b ?? null;
  if (!b) return a;
  return b.fraction > a.fraction ? b : a;
}

/** A reason as a sentence: first letter up, one full stop. */
export function sentence(text: string): string {
  const t = text.trim();
  if (!t) return t;
  return `${t[0]!.toUpperCase()}${t.slice(1)}${/[.!?]$/.test(t) ? '' : '.'}`;
}

export const STATUS_TEXT: Record<RunStatus, string> = {
  queued: 'queued',
  running: 'running',
  done: 'done',
  failed: 'failed',
  cancelled: 'cancelled',
  interrupted: 'interrupted',
};

export const isActive = (status: RunStatus): boolean => status === 'queued' || status === 'running';

/** "0:07", "1:05", "1:02:09": fixed digit groups, so the text keeps its width as it counts. */
export function formatClock(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '–:––';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

/** "1,234 ex/s"; three significant digits below 100. */
export function formatRate(examplesPerSecond: number | undefined): string {
  if (examplesPerSecond === undefined || !Number.isFinite(examplesPerSecond)) return '– ex/s';
  const v = examplesPerSecond >= 100 ? Math.round(examplesPerSecond) : Number(examplesPerSecond.toPrecision(3));
  return `${v.toLocaleString('en-US')} ex/s`;
}

/** "42%", never "100%" before the run is done. */
export function formatPercent(fraction: number): string {
  const p = Math.floor(Math.min(1, Math.max(0, fraction)) * 100);
  return `${p}%`;
}

/** How long a run took (or has been going): "12.3 s", "4 min 05 s". */
export function runDuration(run: Pick<RunInfo, 'startedAt' | 'finishedAt'>, now = Date.now()): string | null {
  if (!run.startedAt) return null;
  const start = Date.parse(run.startedAt);
  const end = run.finishedAt ? Date.parse(run.finishedAt) : now;
  const ms = end - start;
  if (!Number.isFinite(ms) || ms < 0) return null;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes} min ${String(Math.round((ms % 60_000) / 1000)).padStart(2, '0')} s`;
}

/** "Nov 27, 15:04" (24-hour clock, the user's language). */
export function formatWhen(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  return date.toLocaleString(undefined, {
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  });
}
