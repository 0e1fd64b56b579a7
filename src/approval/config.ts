import fs from 'node:fs';
import path from 'node:path';
import { parseDuration } from '../duration';
import type { ConsoleSection } from '../console/config';
import { parsePasskeys, type PasskeyConfig } from './passkey-config';
import { durationText, MAX_DEADLINE_MS, MAX_ESCALATE_AFTER, MAX_NAME, MAX_REMINDERS_ONE_HISTORY, MIN_EVIDENCE_CHECK_MS, MIN_REMINDER_MS, DEFAULT_EVIDENCE_CHECK_EVERY_MS } from '../limits';

export const DEFAULT_DEADLINE = '72h';
/** Name of the group made from the shorthand `approvers: [...]` + `required: N`. */
export const SHORTHAND_GROUP = 'approvers';

export interface ApprovalGroupConfig {
  name: string;
  members: string[];
  required: number;
}

/** A target's approval policy as configured (pinned into each promotion at start). */
export interface ApprovalConfig {
  groups: ApprovalGroupConfig[];
  /** One rejection ends the gate REJECTED (default); otherwise only an unreachable quorum does. */
  vetoOnReject: boolean;
  deadlineMs: number;
  reminderEveryMs?: number;
  /** How often a promotion's gate reads its evidence pack again on its own (promotions only; each gate spreads it +-25 %). */
  evidenceCheckEveryMs?: number;
  /** After this many reminders, the escalation group is notified. */
  escalateAfterReminders?: number;
  escalation?: { group: string; members: string[] };
  /** Where notifications are POSTed (JSON). */
  webhookUrl?: string;
  /** The body the webhook takes: slack or teams (src/notify/chat.ts); absent, the notification as JSON. */
  webhookFormat?: 'slack' | 'teams';
  /** Roster names who may sign a re-open of a rejected promotion (none by default: a rejection stands). */
  reopen?: string[];
}

/** One person in the approver roster: a file key, passkeys, or both. */
export interface RosterConfig {
  /** Absolute path of the SPKI PEM the approver signs statements with (CLI, file key). */
  publicKey?: string;
  /** WebAuthn credentials whose assertions are this person's decisions (the console). */
  passkeys?: PasskeyConfig[];
  identities: string[];
  /** Absolute paths of public keys this person signs builds with (separation of duties). */
  signingKeys: string[];
}

type Raw = Record<string, unknown>;
type Add = (field: string, problem: string) => void;

const isObject = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);

function names(value: unknown, field: string, add: Add): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((s) => typeof s !== 'string' || s === '')) {
    add(field, 'must be a list of non-empty strings');
    return [];
  }
  return [...new Set(value as string[])];
}

function duration(value: unknown, field: string, add: Add): number | undefined {
  if (value === undefined) return undefined;
  try {
    return parseDuration(String(value), 'value');
  } catch (err) {
    add(field, (err as Error).message.replace(/^BAD_INPUT: /, ''));
    return undefined;
  }
}

/** The approver roster: name -> public key and/or passkeys, other identities, build-signing keys. */
export function parseRoster(value: unknown, base: string, add: Add, rp?: ConsoleSection): Record<string, RosterConfig> {
  const roster: Record<string, RosterConfig> = {};
  if (value === undefined) return roster;
  if (!isObject(value)) {
    add('approvers', 'must map each approver name to { publicKey, passkeys, identities, signingKeys }');
    return roster;
  }
  for (const [name, entry] of Object.entries(value)) {
    const at = `approvers.${name}`;
    if (!/^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/.test(name)) add(at, 'approver names are letters, digits and . _ @ -');
    const hasKey = isObject(entry) && typeof entry.publicKey === 'string' && entry.publicKey !== '';
    const hasPasskeys = isObject(entry) && Array.isArray(entry.passkeys) && entry.passkeys.length > 0;
    if (!isObject(entry) || (!hasKey && !hasPasskeys)) {
      add(`${at}.publicKey`, 'is required: the key this approver signs statements with (or passkeys:, for the console)');
      continue;
    }
    const publicKey = hasKey ? path.resolve(base, entry.publicKey as string) : undefined;
    if (publicKey && !fs.existsSync(publicKey)) add(`${at}.publicKey`, `file ${publicKey} does not exist`);
    const passkeys = parsePasskeys(entry.passkeys, `${at}.passkeys`, base, rp, add);
    const signingKeys = names(entry.signingKeys, `${at}.signingKeys`, add).map((p) => path.resolve(base, p));
    for (const key of signingKeys) if (!fs.existsSync(key)) add(`${at}.signingKeys`, `file ${key} does not exist`);
    roster[name] = {
      ...(publicKey ? { publicKey } : {}),
      ...(passkeys.length > 0 ? { passkeys } : {}),
      identities: names(entry.identities, `${at}.identities`, add),
      signingKeys,
    };
  }
  return roster;
}

/**
 * A target's `approval:` section: groups (or the approvers/required shorthand), veto, timers,
 * webhook. `continuesAsNew` says the gate hands its state to a fresh run when its history grows
 * (promotions); any other gate must fit its reminders in one run's history. `showsEvidence` says
 * the gate shows an evidence pack it reads again (promotions).
 */
export function parseApproval(
  value: unknown,
  at: string,
  roster: Record<string, RosterConfig>,
  add: Add,
  options: { continuesAsNew?: boolean; showsEvidence?: boolean } = {},
): ApprovalConfig {
  const raw = isObject(value) ? value : (add(at, 'is required'), {} as Raw);
  const groups: ApprovalGroupConfig[] = [];
  if (raw.groups !== undefined && raw.approvers !== undefined) add(at, 'give either groups: or the approvers:/required: shorthand, not both');
  if (raw.groups !== undefined) {
    if (!isObject(raw.groups) || Object.keys(raw.groups).length === 0) add(`${at}.groups`, 'must map group names to { members, required }');
    else {
      for (const [name, g] of Object.entries(raw.groups)) {
        if (name.length > MAX_NAME) {
          add(`${at}.groups`, `a group name is ${name.length} characters; at most ${MAX_NAME}`);
          continue;
        }
        const field = `${at}.groups.${name}`;
        const members = names(isObject(g) ? g.members : undefined, `${field}.members`, add);
        if (members.length === 0) add(`${field}.members`, 'must list at least one approver');
        groups.push({ name, members, required: requiredCount(isObject(g) ? g.required : undefined, members.length, `${field}.required`, add) });
      }
    }
  } else {
    const members = names(raw.approvers, `${at}.approvers`, add);
    if (members.length === 0) add(`${at}.approvers`, 'must list at least one approver (or use groups:)');
    groups.push({ name: SHORTHAND_GROUP, members, required: requiredCount(raw.required, members.length, `${at}.required`, add) });
  }
  for (const g of groups) {
    for (const m of g.members) if (!roster[m]) add(`${at}.groups.${g.name}.members`, `${m} is not in the approvers roster (top-level approvers:, with a publicKey each)`);
  }

  const vetoOnReject = raw.vetoOnReject ?? true;
  if (typeof vetoOnReject !== 'boolean') add(`${at}.vetoOnReject`, 'must be true or false');
  const deadlineMs = duration(raw.deadline ?? DEFAULT_DEADLINE, `${at}.deadline`, add) ?? 0;
  if (deadlineMs > MAX_DEADLINE_MS) {
    add(`${at}.deadline`, `is longer than ${durationText(MAX_DEADLINE_MS)}: a promotion waits at most ${durationText(MAX_DEADLINE_MS)} for approval (past that, the people and keys it pinned have likely changed)`);
  }
  const reminderEveryMs = duration(raw.reminderEvery, `${at}.reminderEvery`, add);
  if (reminderEveryMs !== undefined && reminderEveryMs < MIN_REMINDER_MS) {
    add(`${at}.reminderEvery`, `is shorter than ${durationText(MIN_REMINDER_MS)}: reminders more often than that flood approvers and the run's history`);
  } else if (reminderEveryMs !== undefined && deadlineMs > 0 && reminderEveryMs >= deadlineMs) {
    add(`${at}.reminderEvery`, `is not shorter than the deadline (${durationText(deadlineMs)}): no reminder would ever be sent`);
  } else if (reminderEveryMs !== undefined && deadlineMs > 0 && !options.continuesAsNew && Math.floor(deadlineMs / reminderEveryMs) > MAX_REMINDERS_ONE_HISTORY) {
    add(
      `${at}.reminderEvery`,
      `${durationText(reminderEveryMs)} until the deadline (${durationText(deadlineMs)}) is ${Math.floor(deadlineMs / reminderEveryMs)} reminders; ` +
        `this gate keeps its whole history in one run, where at most ${MAX_REMINDERS_ONE_HISTORY} fit: remind at most every ${durationText(Math.ceil(deadlineMs / MAX_REMINDERS_ONE_HISTORY / 60_000) * 60_000)} or shorten the deadline`,
    );
  }
  let evidenceCheckEveryMs: number | undefined;
  if (!options.showsEvidence) {
    if (raw.evidenceCheckEvery !== undefined) add(`${at}.evidenceCheckEvery`, 'this gate shows no evidence pack to read again (only a promotion\'s does)');
  } else {
    // The read at quorum is what guards production signing; this one only tells approvers early
    // that the pack changed. At 10,000 open gates every 15 minutes was more wakes than a worker
    // does (docs/benchmarks.md), hence an hour unless the target asks for sooner.
    evidenceCheckEveryMs = raw.evidenceCheckEvery === undefined ? DEFAULT_EVIDENCE_CHECK_EVERY_MS : duration(raw.evidenceCheckEvery, `${at}.evidenceCheckEvery`, add);
    if (evidenceCheckEveryMs !== undefined && evidenceCheckEveryMs < MIN_EVIDENCE_CHECK_MS) {
      add(`${at}.evidenceCheckEvery`, `is shorter than ${durationText(MIN_EVIDENCE_CHECK_MS)}: every open gate would wake and read the registry that often`);
    } else if (evidenceCheckEveryMs !== undefined && evidenceCheckEveryMs > MAX_DEADLINE_MS) {
      add(`${at}.evidenceCheckEvery`, `is longer than ${durationText(MAX_DEADLINE_MS)}, the longest deadline`);
    }
  }
  let escalateAfterReminders: number | undefined;
  if (raw.escalateAfter !== undefined) {
    if (!Number.isInteger(raw.escalateAfter) || (raw.escalateAfter as number) < 1) add(`${at}.escalateAfter`, 'must be a whole number of reminders (1 or more)');
    else if ((raw.escalateAfter as number) > MAX_ESCALATE_AFTER) add(`${at}.escalateAfter`, `must be at most ${MAX_ESCALATE_AFTER} reminders`);
    else escalateAfterReminders = raw.escalateAfter as number;
    if (reminderEveryMs === undefined) add(`${at}.escalateAfter`, 'needs reminderEvery: escalation follows reminders');
    else if (escalateAfterReminders !== undefined && escalateAfterReminders * reminderEveryMs >= deadlineMs && deadlineMs > 0) {
      add(`${at}.escalateAfter`, `${escalateAfterReminders} reminders of ${durationText(reminderEveryMs)} come after the deadline (${durationText(deadlineMs)}): the escalation would never happen`);
    }
  }
  let escalation: ApprovalConfig['escalation'];
  if (raw.escalation !== undefined) {
    const members = names(isObject(raw.escalation) ? raw.escalation.members : undefined, `${at}.escalation.members`, add);
    if (members.length === 0) add(`${at}.escalation.members`, 'must list who is told when approval stalls');
    escalation = { group: isObject(raw.escalation) && typeof raw.escalation.name === 'string' ? raw.escalation.name : 'escalation', members };
    if (escalateAfterReminders === undefined) add(`${at}.escalation`, 'needs escalateAfter: how many reminders before escalating');
  }
  let webhookUrl: string | undefined;
  if (raw.webhook !== undefined) {
    try {
      const url = new URL(String(raw.webhook));
      if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('not http(s)');
      webhookUrl = url.toString();
    } catch {
      add(`${at}.webhook`, `"${String(raw.webhook)}" is not an http(s) URL`);
    }
  }
  let webhookFormat: ApprovalConfig['webhookFormat'];
  if (raw.webhookFormat !== undefined) {
    if (raw.webhookFormat === 'slack' || raw.webhookFormat === 'teams') webhookFormat = raw.webhookFormat;
    else if (raw.webhookFormat !== 'json') add(`${at}.webhookFormat`, `must be json, slack or teams, not "${String(raw.webhookFormat).slice(0, 40)}"`);
    if (raw.webhook === undefined) add(`${at}.webhookFormat`, 'needs webhook: the format is how that webhook is posted to');
  }
  const reopen = names(raw.reopen, `${at}.reopen`, add);
  for (const m of reopen) if (!roster[m]) add(`${at}.reopen`, `${m} is not in the approvers roster (top-level approvers:, with a publicKey each)`);
  return {
    groups,
    vetoOnReject: vetoOnReject === true,
    deadlineMs,
    reminderEveryMs,
    ...(evidenceCheckEveryMs !== undefined ? { evidenceCheckEveryMs } : {}),
    escalateAfterReminders,
    escalation,
    webhookUrl,
    ...(webhookFormat ? { webhookFormat } : {}),
    ...(reopen.length > 0 ? { reopen } : {}),
  };
}

function requiredCount(value: unknown, members: number, field: string, add: Add): number {
  const required = value ?? 1;
  if (!Number.isInteger(required) || (required as number) < 1 || (required as number) > Math.max(1, members)) {
    add(field, `must be a whole number from 1 to the number of members (${members})`);
    return 1;
  }
  return required as number;
}
