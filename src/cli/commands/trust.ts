/**
 * Key ceremony, published trust, rotation schedules and revocation (docs/trust.md).
 */
import { CountersignError } from '../../errors';
import { parseDuration } from '../../duration';
import { readIndex } from '../../trust/index-file';
import { PINNED_LISTING_LIMIT } from '../../trust/promotions';
import {
  ceremonyInput,
  controlSchedule,
  keyWorkflowStatus,
  listRotationSchedules,
  pinnedTo,
  revokeKey,
  type Revocation,
  rotationIdFor,
  rotationScheduleId,
  scheduleRotation,
  startRotation,
  trustConfig,
} from '../../trust/client';
import { connectClient, loadCliConfig } from '../context';
import { EXIT, printJson, write, type Command, type ParsedArgs } from '../command';
import { personalKeyHelp, personalSigner, PERSONAL_KEY_OPTIONS, whoIsSigning } from '../personal-key';
import type { CommandIo } from '../command';

const TRUST_HELP = 'trust store name under trust: in the config (default: the only one)';

const requestSigner = (args: ParsedArgs, io: CommandIo, who: string) => personalSigner(args, io, who, 'the ceremony request');

async function withClient<T>(args: ParsedArgs, io: CommandIo, fn: (client: Awaited<ReturnType<typeof connectClient>>['client']) => Promise<T>): Promise<T> {
  const { client, close } = await connectClient(args, io.env);
  try {
    return await fn(client);
  } finally {
    await close();
  }
}

export const keysCeremonyCommand: Command = {
  name: 'keys ceremony',
  summary: 'start a key ceremony: M of N custodians join, then the next key is made and published (the old one retires)',
  usage: 'countersign keys ceremony [--trust NAME] --as NAME --key FILE [--deadline 24h]',
  options: { trust: { type: 'string' }, as: { type: 'string' }, deadline: { type: 'string' }, ...PERSONAL_KEY_OPTIONS },
  optionHelp: { trust: TRUST_HELP, as: 'you: a governance member of the trust store', deadline: "custodians' deadline (default: the config's custodians.deadline)", ...personalKeyHelp('the ceremony request') },
  details: 'Custodians join with: countersign approve <ceremony-id> --as NAME --key FILE. Follow it with: countersign keys status <id>.',
  async run(args, io) {
    const config = loadCliConfig(args, io.env);
    const trust = trustConfig(config, args.values.trust as string | undefined);
    const deadlineMs = args.values.deadline === undefined ? undefined : parseDuration(String(args.values.deadline), '--deadline');
    const who = whoIsSigning(args, io);
    const now = new Date();
    const input = await ceremonyInput(config, trust, who, { deadlineMs, signer: await requestSigner(args, io, who), scope: `rotation:${rotationIdFor(trust.name, now)}`, time: now });
    const started = await withClient(args, io, (client) => startRotation(client, { ceremony: input }, now));
    if (args.values.json) printJson(io, { ...started, planDigest: input.planDigest });
    else {
      const members = input.custodians.groups[0];
      write(io.stdout, `rotation ${started.rotationId}\nceremony ${started.ceremonyId}: waiting for ${members.required} of ${members.members.join(', ')}`);
      write(io.stdout, `custodians join with: countersign approve ${started.ceremonyId} --as NAME --key FILE`);
    }
    return EXIT.ok;
  },
};

export const keysStatusCommand: Command = {
  name: 'keys status',
  summary: 'state of a key ceremony or rotation: custodians joined, the published key, retirement progress',
  usage: 'countersign keys status <ceremony-or-rotation-id> [--json]',
  options: {},
  optionHelp: {},
  async run(args, io) {
    const id = args.positionals[0];
    if (!id) throw new CountersignError('BAD_INPUT', 'give a ceremony or rotation id');
    const found = await withClient(args, io, (client) => keyWorkflowStatus(client, id));
    if (args.values.json) printJson(io, found);
    else if (found.type === 'ceremony') {
      const s = found.status;
      write(io.stdout, `${s.ceremonyId}  ${s.state}  (${s.kind} key for trust ${s.trust}, started by ${s.initiator})\ncustodians: ${s.approval.summary}`);
      if (s.key) write(io.stdout, `published: ${s.key.id} ${s.key.file} ${s.key.fingerprint}`);
      if (s.error) write(io.stdout, `error: ${s.error}`);
    } else {
      const s = found.status;
      write(io.stdout, `${s.rotationId}  ${s.state}  ceremony ${s.ceremonyId}${s.newKey ? `, new key ${s.newKey.id}` : ''}`);
      for (const r of s.retiring) write(io.stdout, `  retiring ${r.id}: ${r.retiredAt ? `retired ${r.retiredAt}` : `${r.inFlight} run(s) pinned, not before ${r.retireAfter ?? 'now'}`}`);
      if (s.error) write(io.stdout, `error: ${s.error}`);
    }
    return EXIT.ok;
  },
};

export const keysListCommand: Command = {
  name: 'keys list',
  summary: "the trust store's published index: every key, its status and validity window",
  usage: 'countersign keys list [--trust NAME] [--json]',
  options: { trust: { type: 'string' } },
  optionHelp: { trust: TRUST_HELP },
  async run(args, io) {
    const trust = trustConfig(loadCliConfig(args, io.env), args.values.trust as string | undefined);
    const index = await readIndex(trust.publishDir);
    if (args.values.json) printJson(io, index);
    else if (index.keys.length === 0) write(io.stdout, `no keys published in ${trust.publishDir} yet (countersign keys ceremony)`);
    else for (const k of index.keys) write(io.stdout, `${k.id.padEnd(36)} ${k.status.padEnd(9)} ${k.file.padEnd(28)} ${k.validFrom} .. ${k.validUntil ?? ''}  ${k.reason}`);
    return EXIT.ok;
  },
};

export const keysRevokeCommand: Command = {
  name: 'keys revoke',
  summary: 'revoke a key at once (no more signatures with it) and list what it signed',
  usage: 'countersign keys revoke <key-id|fingerprint> --reason TEXT [--trust NAME] [--limit 1000] [--json]',
  options: { trust: { type: 'string' }, reason: { type: 'string', short: 'r' }, limit: { type: 'string' } },
  optionHelp: {
    trust: TRUST_HELP,
    reason: 'why (required; published in the index)',
    limit: `list at most this many promotions of each kind (default ${PINNED_LISTING_LIMIT}); the output says when there were more`,
  },
  details:
    'Production signing (and a chart release, before it signs and again before it publishes) re-reads the index, so in-flight runs pinned to the key fail with KEY_REVOKED. ' +
    'Listed as signed: every promotion pinned to a cosign key that got its production signature (PROMOTED, or failed at release), and those whose prod-sign failed after it may have written it; for an OpenPGP key, the chart releases it published. ' +
    'Exit codes: 0 revoked, 2 bad input.',
  async run(args, io) {
    const which = args.positionals[0];
    if (!which) throw new CountersignError('BAD_INPUT', 'give the key id or fingerprint to revoke (see countersign keys list)');
    const limit = listingLimit(args.values.limit);
    const trust = trustConfig(loadCliConfig(args, io.env), args.values.trust as string | undefined);
    const reason = String(args.values.reason ?? '');
    const key = await revokeKey(trust, which, reason);
    // The revocation stands even when Temporal is unreachable; only the list of what it signed needs it.
    let result: Revocation & { listError?: string };
    try {
      result = { key, ...(await withClient(args, io, (client) => pinnedTo(client, key, limit))) };
    } catch (err) {
      result = { key, signed: [], inFlight: [], limit, capped: { signed: false, inFlight: false }, listError: (err as Error).message };
    }
    if (args.values.json) printJson(io, result);
    else if (result.listError) write(io.stdout, `revoked ${key.id} (${key.fingerprint}); cannot list what it signed: ${result.listError}`);
    else {
      const more = (capped: boolean) => (capped ? ` (the first ${limit}; more exist: --limit, or temporal workflow list --query "CountersignPlatformKey='${key.fingerprint}'")` : '');
      write(io.stdout, `revoked ${result.key.id} (${result.key.fingerprint}) at ${result.key.statusChangedAt}: ${result.key.reason}`);
      write(io.stdout, `signed with it (re-sign or quarantine): ${result.signed.length}${more(result.capped.signed)}`);
      for (const p of result.signed) write(io.stdout, `  ${p.promotionId}  ${p.state}  ${p.target}  ${p.digest}${p.signature === 'possible' ? '  (prod-sign did not finish: check the image)' : ''}`);
      write(io.stdout, `in flight, their production signature will be refused: ${result.inFlight.length}${more(result.capped.inFlight)}`);
      for (const p of result.inFlight) write(io.stdout, `  ${p.promotionId}  ${p.state}`);
    }
    return EXIT.ok;
  },
};

function listingLimit(value: unknown): number {
  if (value === undefined) return PINNED_LISTING_LIMIT;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new CountersignError('BAD_INPUT', `--limit must be a whole number of at least 1, not "${String(value)}"`);
  return n;
}

export const keysScheduleRotationCommand: Command = {
  name: 'keys schedule-rotation',
  summary: 'create (or update) the Temporal Schedule that runs a key rotation every interval',
  usage: 'countersign keys schedule-rotation --every 90d [--trust NAME] --as NAME --key FILE [--retire-poll 5m]',
  options: { trust: { type: 'string' }, every: { type: 'string' }, as: { type: 'string' }, 'retire-poll': { type: 'string' }, ...PERSONAL_KEY_OPTIONS },
  optionHelp: {
    ...personalKeyHelp('the ceremony request'),
    trust: TRUST_HELP,
    every: 'interval, e.g. 90d (seconds work for drills: 30s)',
    as: 'the governance member each scheduled ceremony is started on behalf of',
    'retire-poll': 'how often the retire step looks for promotions still pinned to the old key (default 5m)',
  },
  details: 'The custodians and their keys, and your request signed for every run of this schedule, are pinned into the schedule: run this again after changing them.',
  async run(args, io) {
    if (args.values.every === undefined) throw new CountersignError('BAD_INPUT', '--every is required (e.g. 90d)');
    const everyMs = parseDuration(String(args.values.every), '--every');
    const config = loadCliConfig(args, io.env);
    const trust = trustConfig(config, args.values.trust as string | undefined);
    const retirePollMs = args.values['retire-poll'] === undefined ? undefined : parseDuration(String(args.values['retire-poll']), '--retire-poll');
    const who = whoIsSigning(args, io);
    const signer = await requestSigner(args, io, who);
    const input = { ceremony: await ceremonyInput(config, trust, who, { signer, scope: `schedule:${rotationScheduleId(trust.name)}` }), retirePollMs };
    const scheduleId = await withClient(args, io, (client) => scheduleRotation(client, input, everyMs));
    if (args.values.json) printJson(io, { scheduleId, everyMs });
    else write(io.stdout, `schedule ${scheduleId}: a key rotation every ${args.values.every}`);
    return EXIT.ok;
  },
};

export const keysSchedulesCommand: Command = {
  name: 'keys schedules',
  summary: 'list rotation schedules; --pause, --unpause or --trigger (run now) one of them',
  usage: 'countersign keys schedules [--pause NAME | --unpause NAME | --trigger NAME] [--note TEXT] [--json]',
  options: { pause: { type: 'string' }, unpause: { type: 'string' }, trigger: { type: 'string' }, note: { type: 'string' } },
  optionHelp: { pause: 'pause this schedule (trust name or schedule id)', unpause: 'resume it', trigger: 'run a rotation now', note: 'why (pause/unpause)' },
  async run(args, io) {
    const actions = (['pause', 'unpause', 'trigger'] as const).filter((a) => args.values[a] !== undefined);
    if (actions.length > 1) throw new CountersignError('BAD_INPUT', 'give one of --pause, --unpause, --trigger');
    return withClient(args, io, async (client) => {
      if (actions.length === 1) {
        const id = await controlSchedule(client, String(args.values[actions[0]]), actions[0], args.values.note as string | undefined);
        if (args.values.json) printJson(io, { scheduleId: id, action: actions[0] });
        else write(io.stdout, `${actions[0]}: ${id}`);
        return EXIT.ok;
      }
      const rows = await listRotationSchedules(client);
      if (args.values.json) printJson(io, rows);
      else if (rows.length === 0) write(io.stdout, 'no rotation schedules (countersign keys schedule-rotation --every 90d)');
      else for (const r of rows) write(io.stdout, `${r.scheduleId.padEnd(28)} every ${r.every.padEnd(10)} ${r.paused ? 'PAUSED ' : 'active '} next ${r.nextRuns[0] ?? '-'}  last ${r.recentRuns.at(-1) ?? '-'}`);
      return EXIT.ok;
    });
  },
};

export const TRUST_COMMANDS: Command[] = [keysCeremonyCommand, keysStatusCommand, keysListCommand, keysRevokeCommand, keysScheduleRotationCommand, keysSchedulesCommand];
