/**
 * Key ceremony, published trust, rotation schedules and status (docs/trust.md); revocation in revoke.ts.
 */
import { CountersignError } from '../../errors';
import { parseDuration } from '../../duration';
import { TrustStore } from '../../trust/store';
import {
  controlSchedule,
  keyWorkflowStatus,
  listRotationSchedules,
  rotationIdFor,
  rotationScheduleId,
  scheduleRotation,
  signCeremonyRequest,
  startRotation,
  trustConfig,
  waitForCeremonyAuthorization,
} from '../../client/trust';
import { connectClient, loadCliConfig } from '../context';
import { EXIT, printJson, write, type Command, type ParsedArgs } from '../command';
import { personalKeyHelp, personalSigner, PERSONAL_KEY_OPTIONS, whoIsSigning } from '../personal-key';
import type { CommandIo } from '../command';
import { keysRevokeCommand, renderRevocation } from './revoke';

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
    return withClient(args, io, async (client) => {
      const started = await startRotation(client, { trust: trust.name, request }, now);
      // The worker's answer to the signed request comes in a moment; a refusal is this command's answer.
      const ceremony = await waitForCeremonyAuthorization(client, started.ceremonyId);
      if (args.values.json) printJson(io, { ...started, planDigest, state: ceremony.state, ...(ceremony.error ? { error: ceremony.error } : {}) });
      if (ceremony.state === 'REFUSED') {
        if (!args.values.json) write(io.stderr, `the worker refused the ceremony request for ${started.ceremonyId}: ${ceremony.error}`);
        return EXIT.refused;
      }
      if (!args.values.json) {
        const members = ceremony.approval.groups[0];
        write(io.stdout, `rotation ${started.rotationId}\nceremony ${started.ceremonyId}: ${ceremony.state}, waiting for ${members?.required ?? '?'} of ${members?.eligible.join(', ') ?? '?'}`);
        write(io.stdout, `custodians join with: countersign approve ${started.ceremonyId} --as NAME --key FILE`);
      }
      return EXIT.ok;
    });
  },
};

export const keysStatusCommand: Command = {
  name: 'keys status',
  summary: 'state of a key ceremony, rotation or revocation: custodians joined, the published key, retirement progress, signers',
  usage: 'countersign keys status <ceremony-rotation-or-revocation-id> [--json]',
  options: {},
  optionHelp: {},
  async run(args, io) {
    const id = args.positionals[0];
    if (!id) throw new CountersignError('BAD_INPUT', 'give a ceremony, rotation or revocation id');
    const found = await withClient(args, io, (client) => keyWorkflowStatus(client, id));
    if (args.values.json) printJson(io, found);
    else if (found.type === 'ceremony') {
      const s = found.status;
      write(io.stdout, `${s.ceremonyId}  ${s.state}  (${s.kind ?? 'key'} for trust ${s.trust}, requested by ${s.initiator || 'unknown'})\ncustodians: ${s.approval.summary}`);
      if (s.planDigest) write(io.stdout, `plan: ${s.planDigest}${s.location ? `, published to ${s.location.publishDir}` : ''}`);
      if (s.key) write(io.stdout, `published: ${s.key.id} ${s.key.file} ${s.key.fingerprint}`);
      if (s.error) write(io.stdout, `error: ${s.error}`);
    } else if (found.type === 'rotation') {
      const s = found.status;
      write(io.stdout, `${s.rotationId}  ${s.state}  ceremony ${s.ceremonyId}${s.newKey ? `, new key ${s.newKey.id}` : ''}`);
      for (const r of s.retiring) write(io.stdout, `  retiring ${r.id}: ${r.retiredAt ? `retired ${r.retiredAt}` : `${r.inFlight} run(s) pinned, not before ${r.retireAfter ?? 'now'}`}`);
      if (s.error) write(io.stdout, `error: ${s.error}`);
    } else write(io.stdout, renderRevocation(found.status));
    return EXIT.ok;
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
    const index = { ...published, keys: store.ownKeys(published) };
    if (args.values.json) printJson(io, index);
    else if (index.keys.length === 0) write(io.stdout, `no keys published in ${trust.publishDir} yet (countersign keys ceremony)`);
    else for (const k of index.keys) write(io.stdout, `${k.id.padEnd(36)} ${k.status.padEnd(9)} ${k.file.padEnd(28)} ${k.validFrom} .. ${k.validUntil ?? ''}  ${k.reason}`);
    return EXIT.ok;
  },
};

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
  details:
    "The schedule carries only the store's name and your request, signed for every run of this schedule and naming the store's plan digest as this configuration gives it. " +
    "Each run is resolved from the worker's configuration at that time; a run whose plan differs from the one you signed (custodians, governance, backend, directories, overlap changed) is refused: run this again after changing them.",
  async run(args, io) {
    if (args.values.every === undefined) throw new CountersignError('BAD_INPUT', '--every is required (e.g. 90d)');
    const everyMs = parseDuration(String(args.values.every), '--every');
    const config = loadCliConfig(args, io.env);
    const trust = trustConfig(config, args.values.trust as string | undefined);
    const retirePollMs = args.values['retire-poll'] === undefined ? undefined : parseDuration(String(args.values['retire-poll']), '--retire-poll');
    const who = whoIsSigning(args, io);
    const signer = await requestSigner(args, io, who);
    const { request, planDigest } = await signCeremonyRequest(config, trust, who, { signer, scope: `schedule:${rotationScheduleId(trust.name)}` });
    const input = { trust: trust.name, request, ...(retirePollMs !== undefined ? { retirePollMs } : {}) };
    const scheduleId = await withClient(args, io, (client) => scheduleRotation(client, input, everyMs));
    if (args.values.json) printJson(io, { scheduleId, everyMs, planDigest });
    else write(io.stdout, `schedule ${scheduleId}: a key rotation every ${args.values.every} (plan ${planDigest.slice(0, 19)}; the worker checks your request at each run)`);
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
