/**
 * The one place the CLI holds flag values to their limits (src/limits.ts, docs/limits.md), before
 * a command runs: an oversized or out-of-range value is refused naming the flag and its limit,
 * never quoting the value back (a megabyte of it helps no one, and it may be a secret).
 */
import { parseDuration } from '../duration';
import { CountersignError } from '../errors';
import { durationText, FLAG_LIMITS, MAX_DURATION_TEXT, MAX_POSITIONAL, type FlagLimit } from '../limits';

/** A string flag with no entry is held to the longest limit there is, a path's. */
const FALLBACK: FlagLimit = FLAG_LIMITS.config;

export function checkArgumentLimits(args: { values: Record<string, unknown>; positionals: string[] }): void {
  for (const [flag, value] of Object.entries(args.values)) {
    if (typeof value !== 'string') continue;
    checkFlag(`--${flag}`, value, FLAG_LIMITS[flag] ?? FALLBACK);
  }
  args.positionals.forEach((value, i) => {
    if (value.length > MAX_POSITIONAL) refuse(`argument ${i + 1} is ${value.length} characters; at most ${MAX_POSITIONAL}`);
  });
}

function checkFlag(flag: string, value: string, limit: FlagLimit): void {
  switch (limit.kind) {
    case 'text':
      if (value.length > limit.maxLength) refuse(`${flag} is ${value.length} characters; at most ${limit.maxLength} (${limit.what})`);
      return;
    case 'duration': {
      if (value.length > MAX_DURATION_TEXT) refuse(`${flag} is ${value.length} characters; a duration is at most ${MAX_DURATION_TEXT}`);
      const ms = parseDuration(value, flag);
      if (ms > limit.maxMs) refuse(`${flag} is longer than ${durationText(limit.maxMs)}, the most ${limit.what} may be`);
      return;
    }
    case 'integer': {
      const n = Number(value);
      if (value.length > 12 || !Number.isInteger(n) || n < limit.min || n > limit.max) refuse(`${flag} must be a whole number from ${limit.min} to ${limit.max} (${limit.what})`);
      return;
    }
  }
}

function refuse(message: string): never {
  throw new CountersignError('BAD_INPUT', message);
}
