/** `keys history`: the governance audit trail (docs/trust.md, Audit trail). */
import fs from 'node:fs';
import { CountersignError } from '../../errors';
import { HISTORY_KINDS, keyHistoryFromIndex, keyHistoryFromTemporal, sortHistory, type HistoryKind } from '../../client/key-history';
import type { TrustConfig } from '../../trust/config';
import { TrustStore } from '../../trust/store';
import { configFile, connectClient, loadCliConfig } from '../context';
import { EXIT, printJson, write, type Command } from '../command';
import { renderHistoryEntry } from '../render-keys';

export const keysHistoryCommand: Command = {
  name: 'keys history',
  summary: 'every key ceremony, rotation, revocation and campaign: who asked, who joined, co-signed or approved, when, and the result',
  usage: 'countersign keys history [--trust NAME] [--kind ceremony|rotation|revocation|campaign] [--limit 200] [--json]',
  options: { trust: { type: 'string' }, kind: { type: 'string' }, limit: { type: 'string' } },
  optionHelp: {
    trust: 'only this trust store (default: all of them)',
    kind: 'only ceremonies, rotations, revocations or campaigns',
    limit: 'read at most this many runs from Temporal (default 200)',
  },
  details:
    "Read from Temporal (each run's result, or its state while it runs) and from the published index of each trust store in the configuration, " +
    "which keeps who made each key (issuance), who revoked it (revocation) and the campaigns over it (campaigns) after Temporal's retention has dropped the runs; those entries say (from the index).",
  async run(args, io) {
    const kind = args.values.kind as string | undefined;
    if (kind !== undefined && !HISTORY_KINDS.includes(kind as HistoryKind)) throw new CountersignError('BAD_INPUT', `--kind must be one of ${HISTORY_KINDS.join(', ')}, not "${kind}"`);
    const kinds = kind === undefined ? HISTORY_KINDS : [kind as HistoryKind];
    const limit = args.values.limit === undefined ? 200 : Number(args.values.limit);
    if (!Number.isInteger(limit) || limit < 1) throw new CountersignError('BAD_INPUT', `--limit must be a whole number of at least 1, not "${String(args.values.limit)}"`);
    const trust = args.values.trust as string | undefined;
    const stores = storesToRead(args, io.env, trust);
    const { client, close } = await connectClient(args, io.env);
    const fromTemporal = await keyHistoryFromTemporal(client, { trust, kinds, limit }).finally(close);
    const fromIndex = [];
    for (const store of stores) {
      const trustStore = new TrustStore(store);
      fromIndex.push(...keyHistoryFromIndex(trustStore.ownKeys(await trustStore.index()), store.name, fromTemporal, kinds));
    }
    const entries = sortHistory([...fromTemporal, ...fromIndex]);
    if (args.values.json) printJson(io, entries);
    else if (entries.length === 0) write(io.stdout, `no key ceremonies, rotations, revocations or campaigns${trust ? ` for trust store ${trust}` : ''}`);
    else write(io.stdout, entries.map(renderHistoryEntry).join('\n'));
    return EXIT.ok;
  },
};

/** The stores whose index completes the trail: the one named, or every store in the configuration (none without one). */
function storesToRead(args: Parameters<Command['run']>[0], env: NodeJS.ProcessEnv, name: string | undefined): TrustConfig[] {
  if (!fs.existsSync(configFile(args, env))) {
    if (name !== undefined) throw new CountersignError('BAD_INPUT', `--trust ${name} needs the configuration that names its published directory (--config; ${configFile(args, env)} does not exist)`);
    return [];
  }
  const config = loadCliConfig(args, env);
  if (name === undefined) return Object.values(config.trust);
  const store = Object.hasOwn(config.trust, name) ? config.trust[name] : undefined;
  if (!store) throw new CountersignError('BAD_INPUT', `no trust store "${name}" in ${config.file} (trust stores: ${Object.keys(config.trust).join(', ') || 'none'})`);
  return [store];
}
