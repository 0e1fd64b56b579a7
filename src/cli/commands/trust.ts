/**
 * Key ceremony, published trust, rotation schedules and status (docs/trust.md); revocation in revoke.ts.
 */
import fs from 'node:fs';
import type { Client } from '@temporalio/client';
import { CountersignError } from '../../errors';
import { keyFingerprint } from '../../keys/public-key';
import { formatCalendar, formatDuration, formatInterval, parseDuration } from '../../duration';
import { TrustStore } from '../../trust/store';
import {
  controlSchedule,
  firstRotationAt,
  keyWorkflowStatus,
  listRotationSchedules,
  rotationIdFor,
  rotationScheduleId,
  scheduleRotation,
  signCeremonyRequest,
  startRotation,
  triggerRotation,
  trustConfig,
  waitForCeremonyAuthorization,
} from '../../client/trust';
import { connectClient, loadCliConfig } from '../context';
import { EXIT, printJson, write, type Command, type ParsedArgs } from '../command';
import { personalKeyHelp, personalSigner, PERSONAL_KEY_OPTIONS, whoIsSigning } from '../personal-key';
import type { CommandIo } from '../command';
import { keysRevokeCommand } from './revoke';
import { keysCampaignCommand } from './campaign';
import { keysHistoryCommand } from './key-history';
import { exitCodeFor } from './promotions';
import { renderKeyWorkflow } from '../render-keys';

export const TRUST_HELP = 'trust store name under trust: in the config (default: the only one)';

const requestSigner = (args: ParsedArgs, io: CommandIo, who: string) => personalSigner(args, io, who, 'the ceremony request');

export async function withClient<T>(args: ParsedArgs, io: CommandIo, fn: (client: Awaited<ReturnType<typeof connectClient>>['client']) => Promise<T>): Promise<T> {
  const { client, close } = await connectClient(args, io.env);
  try {
    return await fn(client);
  } finally {
    await close();
  }
}

export const keysCeremonyCommand: Command = {
  name: 'keys ceremony',
  summary: 'ask the worker for a key ceremony: M of N custodians join, then the next key is made and published (the old one retires)',
  usage: 'countersign keys ceremony [--trust NAME] --as NAME --key FILE [--deadline 24h]',
  options: { trust: { type: 'string' }, as: { type: 'string' }, deadline: { type: 'string' }, ...PERSONAL_KEY_OPTIONS },
  optionHelp: {
    trust: TRUST_HELP,
    as: 'you: a governance member of the trust store',
    deadline: "a shorter custodians' deadline than the store's custodians.deadline (never longer)",
    ...personalKeyHelp('the ceremony request'),
  },
  details:
    "The request names the trust store and the digest of its plan as this configuration gives it; the worker checks it against its own configuration (and refuses it when that gives another plan), then takes the custodians, the key backend and the directories from there. " +
    'Custodians join with: countersign approve <ceremony-id> --as NAME --key FILE. Follow it with: countersign keys status <id>. Exit codes: 0 started, 7 refused by the worker (the reason is printed).',
  async run(args, io) {
    const config = loadCliConfig(args, io.env);
    const trust = trustConfig(config, args.values.trust as string | undefined);
    const deadlineMs = args.values.deadline === undefined ? undefined : parseDuration(String(args.values.deadline), '--deadline');
    const who = whoIsSigning(args, io);
    const now = new Date();
    const signer = await requestSigner(args, io, who);
    const { request, planDigest } = await signCeremonyRequest(config, trust, who, { deadlineMs, signer, scope: `rotation:${rotationIdFor(trust.name, now)}`, time: now });
    return withClient(args, io, async (client) => answerCeremony(args, io, client, await startRotation(client, { trust: trust.name, request }, now), { planDigest }));
  },
};

/**
 * Waits for the worker's answer to a rotation's ceremony request (it comes in a moment) and says
 * it: a refusal is the command's answer (exit 7, the reason on stderr), else the custodians the
 * worker's plan asks for. `extra` goes into the JSON beside the ids.
 */
async function answerCeremony(args: ParsedArgs, io: CommandIo, client: Client, started: { rotationId: string; ceremonyId: string }, extra: object, heading: string[] = []): Promise<number> {
  const ceremony = await waitForCeremonyAuthorization(client, started);
  if (args.values.json) printJson(io, { ...started, ...extra, state: ceremony.state, ...(ceremony.error ? { error: ceremony.error } : {}) });
  if (ceremony.state === 'REFUSED') {
    if (!args.values.json) write(io.stderr, `the worker refused the ceremony request for ${started.ceremonyId}: ${ceremony.error}`);
    return EXIT.refused;
  }
  if (!args.values.json) {
    const members = ceremony.approval.groups[0];
    write(io.stdout, [...heading, `rotation ${started.rotationId}`, `ceremony ${started.ceremonyId}: ${ceremony.state}, waiting for ${members?.required ?? '?'} of ${members?.eligible.join(', ') ?? '?'}`].join('\n'));
    write(io.stdout, `custodians join with: countersign approve ${started.ceremonyId} --as NAME --key FILE\nfollow it with: countersign keys status ${started.ceremonyId}`);
  }
  return EXIT.ok;
}

export const keysStatusCommand: Command = {
  name: 'keys status',
  summary: 'state of a key ceremony, rotation, revocation, campaign or trust root: custodians joined, the published key, retirement progress, signers, a campaign\'s plan, progress and report, a root\'s draft and signatures',
  usage: 'countersign keys status <ceremony-rotation-revocation-campaign-or-root-id> [--json]',
  options: {},
  optionHelp: {},
  async run(args, io) {
    const id = args.positionals[0];
    if (!id) throw new CountersignError('BAD_INPUT', 'give a ceremony, rotation, revocation, campaign or root id (key-root-<store>-<version>)');
    const found = await withClient(args, io, (client) => keyWorkflowStatus(client, id));
    if (args.values.json) printJson(io, found);
    else write(io.stdout, renderKeyWorkflow(found));
    // Like status for promotions: 4 rejected, 5 expired, 6 failed, 7 refused (README, exit codes).
    return exitCodeFor(found.status);
  },
};

export const keysListCommand: Command = {
  name: 'keys list',
  summary: "the trust store's keys in its published index: each key, its status and validity window",
  usage: 'countersign keys list [--trust NAME] [--json]',
  options: { trust: { type: 'string' } },
  optionHelp: { trust: TRUST_HELP },
  async run(args, io) {
    const trust = trustConfig(loadCliConfig(args, io.env), args.values.trust as string | undefined);
    // Stores may share the directory: this store's keys only.
    const store = new TrustStore(trust);
    const published = await store.index();
    // The fingerprint customers compare their pinned index-key.pem with.
    const indexKey = trust.index ? keyFingerprint(fs.readFileSync(trust.index.publicKey, 'utf8')) : undefined;
    const index = { ...published, keys: store.ownKeys(published), ...(indexKey ? { indexKey } : {}) };
    if (args.values.json) printJson(io, index);
    else {
      if (indexKey) write(io.stdout, `index signed by ${indexKey} (index-key.pem), version ${published.version ?? '-'}, expires ${published.expires ?? '-'}`);
      if (index.keys.length === 0) write(io.stdout, `no keys published in ${trust.publishDir} yet (countersign keys ceremony)`);
      else for (const k of index.keys) write(io.stdout, `${k.id.padEnd(36)} ${k.status.padEnd(9)} ${k.file.padEnd(28)} ${k.validFrom} .. ${k.validUntil ?? ''}  ${k.reason}`);
    }
    return EXIT.ok;
  },
};

export const keysScheduleRotationCommand: Command = {
  name: 'keys schedule-rotation',
  summary: 'create (or update) the Temporal Schedule that runs a key rotation every interval, first one interval from now (or at --start)',
  usage: 'countersign keys schedule-rotation --every 90d [--start 2027-01-05T09:00:00Z] [--trust NAME] --as NAME --key FILE [--retire-poll 5m]',
  options: { trust: { type: 'string' }, every: { type: 'string' }, start: { type: 'string' }, as: { type: 'string' }, 'retire-poll': { type: 'string' }, ...PERSONAL_KEY_OPTIONS },
  optionHelp: {
    ...personalKeyHelp('the ceremony request'),
    trust: TRUST_HELP,
    every: 'interval, e.g. 90d (seconds work for drills: 30s)',
    start: 'the first rotation, an ISO 8601 time in the future (default: one interval from now); the next ones follow every interval',
    as: 'the governance member each scheduled ceremony is started on behalf of',
    'retire-poll': 'how often the retire step looks for promotions still pinned to the old key (default 5m)',
  },
  details:
    "The schedule carries only the store's name and your request, signed for every run of this schedule and naming the store's plan digest as this configuration gives it. " +
    "Each run is resolved from the worker's configuration at that time; a run whose plan differs from the one you signed (custodians, governance, backend, directories, overlap changed) is refused: run this again after changing them (that restarts the interval from then, or from --start).",
  async run(args, io) {
    if (args.values.every === undefined) throw new CountersignError('BAD_INPUT', '--every is required (e.g. 90d)');
    const everyMs = parseDuration(String(args.values.every), '--every');
    const now = new Date();
    const firstAt = firstRotationAt(everyMs, now, args.values.start === undefined ? undefined : parseStart(String(args.values.start)));
    const config = loadCliConfig(args, io.env);
    const trust = trustConfig(config, args.values.trust as string | undefined);
    const retirePollMs = args.values['retire-poll'] === undefined ? undefined : parseDuration(String(args.values['retire-poll']), '--retire-poll');
    const who = whoIsSigning(args, io);
    const signer = await requestSigner(args, io, who);
    const { request, planDigest } = await signCeremonyRequest(config, trust, who, { signer, scope: `schedule:${rotationScheduleId(trust.name)}` });
    const input = { trust: trust.name, request, ...(retirePollMs !== undefined ? { retirePollMs } : {}) };
    const scheduleId = await withClient(args, io, (client) => scheduleRotation(client, input, everyMs, firstAt));
    if (args.values.json) printJson(io, { scheduleId, everyMs, every: formatInterval(everyMs), firstRunAt: firstAt.toISOString(), planDigest });
    else {
      write(io.stdout, `schedule ${scheduleId}: a key rotation every ${formatInterval(everyMs)}, first ${whenFrom(firstAt, now)}`);
      write(io.stdout, `plan ${planDigest.slice(0, 19)}; the worker checks your request at each run`);
    }
    return EXIT.ok;
  },
};

/** An ISO 8601 time with a zone (Z or +hh:mm), or a date (midnight UTC). */
function parseStart(text: string): Date {
  const ok = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/.test(text);
  const at = new Date(/T/.test(text) ? text : `${text}T00:00:00Z`);
  if (!ok || Number.isNaN(at.getTime())) throw new CountersignError('BAD_INPUT', `--start "${text}" is not a time like 2027-01-05T09:00:00Z (a zone is required) or a date like 2027-01-05`);
  return at;
}

/** `2027-02-19 09:00 UTC (in 90d)`. */
function whenFrom(at: Date, now: Date): string {
  const ms = at.getTime() - now.getTime();
  return `${formatCalendar(at)} (${ms >= 0 ? `in ${formatDuration(ms)}` : `${formatDuration(-ms)} ago`})`;
}

export const keysSchedulesCommand: Command = {
  name: 'keys schedules',
  summary: "list rotation schedules (interval, next run); --pause, --unpause or --trigger (run now and wait for the worker's answer) one of them",
  usage: 'countersign keys schedules [--pause NAME | --unpause NAME | --trigger NAME] [--note TEXT] [--json]',
  options: { pause: { type: 'string' }, unpause: { type: 'string' }, trigger: { type: 'string' }, note: { type: 'string' } },
  optionHelp: {
    pause: 'pause this schedule (trust name or schedule id)',
    unpause: 'resume it',
    trigger: "run a rotation now; waits for the worker's answer to the schedule's request and prints the rotation and ceremony ids and the custodians asked (exit 7 with the reason when refused)",
    note: 'why (pause/unpause)',
  },
  async run(args, io) {
    const actions = (['pause', 'unpause', 'trigger'] as const).filter((a) => args.values[a] !== undefined);
    if (actions.length > 1) throw new CountersignError('BAD_INPUT', 'give one of --pause, --unpause, --trigger');
    return withClient(args, io, async (client) => {
      if (actions[0] === 'trigger') {
        const { scheduleId, ...started } = await triggerRotation(client, String(args.values.trigger));
        // The run checks the request the schedule carries against the worker's configuration as it is now: said here, as keys ceremony says it.
        return answerCeremony(args, io, client, started, { scheduleId, action: 'trigger' }, [`trigger: ${scheduleId}`]);
      }
      if (actions.length === 1) {
        const id = await controlSchedule(client, String(args.values[actions[0]]), actions[0], args.values.note as string | undefined);
        if (args.values.json) printJson(io, { scheduleId: id, action: actions[0] });
        else write(io.stdout, `${actions[0]}: ${id}`);
        return EXIT.ok;
      }
      const rows = await listRotationSchedules(client);
      const now = new Date();
      if (args.values.json) printJson(io, rows);
      else if (rows.length === 0) write(io.stdout, 'no rotation schedules (countersign keys schedule-rotation --every 90d)');
      else {
        for (const r of rows) {
          const next = r.paused ? '(paused)' : r.nextRuns[0] ? whenFrom(new Date(r.nextRuns[0]), now) : '-';
          write(io.stdout, `${r.scheduleId.padEnd(28)} every ${r.every.padEnd(6)} ${r.paused ? 'PAUSED ' : 'active '} next ${next}  last ${r.recentRuns.at(-1) ?? '-'}${r.note ? `  (${r.note})` : ''}`);
        }
      }
      return EXIT.ok;
    });
  },
};

export const TRUST_COMMANDS: Command[] = [keysCeremonyCommand, keysStatusCommand, keysListCommand, keysHistoryCommand, keysRevokeCommand, keysCampaignCommand, keysScheduleRotationCommand, keysSchedulesCommand];
