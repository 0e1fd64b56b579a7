/**
 * An on/off environment variable, read the same way wherever the worker or the CLI takes one:
 * 1, true, on or yes turn it on; 0, false, off or no turn it off (any case, spaces around ignored);
 * unset or blank is undefined, for the caller's own default. Anything else is refused, naming the
 * variable and its value, never read as either: a typo in a security setting (TLS) must not pick one.
 */
import { CountersignError, type ErrorCode } from './errors';

const ON = ['1', 'true', 'on', 'yes'];
const OFF = ['0', 'false', 'off', 'no'];

export function envFlag(env: NodeJS.ProcessEnv, name: string, code: ErrorCode = 'BAD_CONFIG'): boolean | undefined {
  const raw = env[name]?.trim().toLowerCase();
  if (!raw) return undefined;
  if (ON.includes(raw)) return true;
  if (OFF.includes(raw)) return false;
  throw new CountersignError(code, `${name}: "${env[name]}" is neither on nor off (1 or 0, true or false, on or off, yes or no)`);
}
