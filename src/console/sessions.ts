/**
 * The console's server-held state for logins: single-use, short-lived challenges and sessions.
 * Both live in memory only: a restart logs everyone out, and nothing here is worth persisting (a
 * session grants reading; deciding needs a fresh passkey signature the workflow checks).
 */
import { randomBytes } from 'node:crypto';

export const CHALLENGE_TTL_MS = 2 * 60_000;
export const SESSION_TTL_MS = 8 * 3600_000;
/** Bounds what unauthenticated callers can make the console hold: old challenges go first. */
export const MAX_PENDING_CHALLENGES = 1000;
export const MAX_SESSIONS = 10_000;

export interface Challenge<T> {
  value: string;
  data: T;
}

/** Challenges by purpose; take() removes one whatever the outcome, so none is accepted twice. */
export class Challenges<T> {
  private readonly pending = new Map<string, { data: T; expires: number }>();
  constructor(private readonly now: () => number = Date.now) {}

  /** Records a challenge the browser was given (the library made it) for this much time. */
  remember(value: string, data: T): void {
    this.pending.set(value, { data, expires: this.now() + CHALLENGE_TTL_MS });
    while (this.pending.size > MAX_PENDING_CHALLENGES) this.pending.delete(this.pending.keys().next().value as string);
  }

  /** The challenge's data once, if it was issued here and has not expired or been used. */
  take(value: unknown): T | undefined {
    if (typeof value !== 'string') return undefined;
    const found = this.pending.get(value);
    this.pending.delete(value);
    if (!found || found.expires < this.now()) return undefined;
    return found.data;
  }
}

export interface Session {
  approver: string;
  /** Sent back in the x-csrf-token header (or a form's csrf field) of every state-changing request. */
  csrf: string;
  expires: number;
}

export class Sessions {
  private readonly open = new Map<string, Session>();
  constructor(private readonly now: () => number = Date.now) {}

  create(approver: string): { id: string; session: Session } {
    const id = randomBytes(32).toString('base64url');
    const session = { approver, csrf: randomBytes(32).toString('base64url'), expires: this.now() + SESSION_TTL_MS };
    this.open.set(id, session);
    while (this.open.size > MAX_SESSIONS) this.open.delete(this.open.keys().next().value as string);
    return { id, session };
  }

  get(id: string | undefined): Session | undefined {
    if (!id) return undefined;
    const session = this.open.get(id);
    if (session && session.expires < this.now()) {
      this.open.delete(id);
      return undefined;
    }
    return session;
  }

  end(id: string | undefined): void {
    if (id) this.open.delete(id);
  }
}
