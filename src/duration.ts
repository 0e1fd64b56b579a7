import { CountersignError } from './errors';
import { MAX_DURATION_TEXT } from './limits';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses "90s", "30m", "72h", "7d" (or a sum such as "1h30m") into milliseconds. */
export function parseDuration(text: string, what = 'duration'): number {
  // Checked before anything quotes it: a megabyte of "duration" is refused by its size alone.
  if (String(text).length > MAX_DURATION_TEXT) throw new CountersignError('BAD_INPUT', `${what} is ${String(text).length} characters; a duration is at most ${MAX_DURATION_TEXT}`);
  const trimmed = String(text).trim();
  const parts = [...trimmed.matchAll(/(\d+)(ms|s|m|h|d)/g)];
  if (trimmed === '' || parts.map((p) => p[0]).join('') !== trimmed) {
    throw new CountersignError('BAD_INPUT', `${what} "${text}" is not a duration like 90s, 30m, 72h or 7d`);
  }
  const ms = parts.reduce((sum, p) => sum + Number(p[1]) * UNITS[p[2]], 0);
  if (ms <= 0) throw new CountersignError('BAD_INPUT', `${what} "${text}" must be longer than zero`);
  return ms;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s}s`;
  const m = Math.round(s / 60);
  if (m < 120) return `${m}m`;
  const h = Math.round(m / 60);
  return h < 72 ? `${h}h` : `${Math.round(h / 24)}d`;
}

/** An exact interval in the largest unit that divides it: 90d, 36h, 90m, 30s, 1500ms (what --every takes back). */
export function formatInterval(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) if (ms >= UNITS[unit] && ms % UNITS[unit] === 0) return `${ms / UNITS[unit]}${unit}`;
  return `${ms}ms`;
}

/** A time as a person reads it: `2027-02-19 09:00 UTC` (seconds only when they are not zero). */
export function formatCalendar(date: Date): string {
  const iso = date.toISOString();
  const seconds = iso.slice(17, 19);
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)}${seconds === '00' ? '' : `:${seconds}`} UTC`;
}
