/**
 * `keys revoke`: a governance member's signed revocation request, decided by the worker; then
 * what the key signed, from visibility (docs/trust.md, Revocation).
 */
import { CountersignError } from '../../errors';
import { PINNED_LISTING_LIMIT } from '../../client/pinned-runs';
import { trustConfig } from '../../client/trust';
import { untilRunCloses } from '../../client/final-result';
import { pinnedTo, requestRevocation, signRevocationRequest, waitForRevocation, waitForRevocationAnswer, type Revocation } from '../../client/revocation';
import type { RevocationStatus } from '../../client/types';
import { connectClient, loadCliConfig } from '../context';
import { EXIT, printJson, write, type Command, type CommandIo } from '../command';
import { personalKeyHelp, personalSigner, PERSONAL_KEY_OPTIONS, whoIsSigning } from '../personal-key';
import { exitCodeFor } from './promotions';
import { renderRevocation } from '../render-keys';

export const keysRevokeCommand: Command = {
  name: 'keys revoke',
  summary: 'ask the worker to revoke a key (a signed request; co-signed when the store asks for more), then list what it signed',
  usage: 'countersign keys revoke <key-id|fingerprint> --trust NAME --as NAME --key FILE --reason TEXT [--wait] [--limit 1000] [--json]',
  options: { trust: { type: 'string' }, as: { type: 'string' }, reason: { type: 'string', short: 'r' }, wait: { type: 'boolean', short: 'w' }, limit: { type: 'string' }, ...PERSONAL_KEY_OPTIONS },
  optionHelp: {
    trust: 'the trust store the key belongs to (default: the only one); a key of another store is refused',
    as: 'you: a governance member of that trust store',
    reason: 'why (required; published in the index with who signed and when)',
    ...personalKeyHelp('the revocation request'),
    wait: "when the store's revocation.required asks for co-signers, wait for them (default: print how they co-sign and exit)",
    limit: `list at most this many promotions of each kind (default ${PINNED_LISTING_LIMIT}); the output says when there were more`,
  },
  details:
    'The worker checks the request against its own configuration: you are a governance member of the store, the key is one of its keys, the request is fresh and used once. ' +
    'With trust.<name>.revocation.required N > 1, N - 1 further governance members co-sign with: countersign approve <revocation-id> --as NAME --key FILE. ' +
    'Production signing (and a chart release, before it signs and again before it publishes) re-reads the index, so in-flight runs pinned to the key fail with KEY_REVOKED. ' +
    'Listed as signed: every promotion pinned to a cosign key that got its production signature (PROMOTED, or failed at release), and those whose prod-sign failed after it may have written it; for an OpenPGP key, the chart releases it published. ' +
    'Exit codes: 0 revoked (or waiting for co-signers), 2 bad input, 4 rejected, 5 expired, 6 failed, 7 refused by the worker (the reason is printed).',
  async run(args, io) {
    const which = args.positionals[0];
    if (!which) throw new CountersignError('BAD_INPUT', 'give the key id or fingerprint to revoke (see countersign keys list)');
    const reason = String(args.values.reason ?? '');
    if (!reason.trim()) throw new CountersignError('BAD_INPUT', '--reason is required: say why the key is revoked');
    const limit = listingLimit(args.values.limit);
    const config = loadCliConfig(args, io.env);
    const trust = trustConfig(config, args.values.trust as string | undefined);
    const who = whoIsSigning(args, io);
    const signer = await personalSigner(args, io, who, 'the revocation request');
    const { request } = await signRevocationRequest(config, trust, who, which, reason, { signer });
    const { client, close } = await connectClient(args, io.env);
    try {
      const id = await requestRevocation(client, request);
      const waitForCosigners = Boolean(args.values.wait);
      // The worker's first answer: refused, waiting for co-signers, or (none needed) revoked.
      let status = await waitForRevocationAnswer(client, id);
      if (waitForCosigners && status.state === 'AWAITING_SIGNATURES') {
        // Co-signers may take the day: nothing is asked meanwhile, the run's end is sent when it comes.
        status = await waitForRevocation(client, id, () => false, await untilRunCloses(client, id, COSIGNER_WAIT_MS));
      }
      return await report(io, Boolean(args.values.json), status, status.key && status.state === 'REVOKED' ? await listing(client, status, limit) : undefined);
    } finally {
      await close();
    }
  },
};

/** How long `--wait` waits for co-signers: the gate's deadline is a day. */
const COSIGNER_WAIT_MS = 25 * 3_600_000;

/** What the key signed; the revocation stands when visibility cannot answer, only the list is missing. */
async function listing(client: Parameters<typeof pinnedTo>[0], status: RevocationStatus, limit: number): Promise<Omit<Revocation, 'key'> & { listError?: string }> {
  try {
    return await pinnedTo(client, status.key!, limit);
  } catch (err) {
    return { signed: [], inFlight: [], limit, capped: { signed: false, inFlight: false }, listError: (err as Error).message };
  }
}

async function report(io: CommandIo, json: boolean, status: RevocationStatus, listed: (Omit<Revocation, 'key'> & { listError?: string }) | undefined): Promise<number> {
  if (json) printJson(io, { ...status, ...(listed ?? {}) });
  if (status.state === 'REFUSED') {
    if (!json) write(io.stderr, `the worker refused the revocation of ${status.keyId || 'the key'} in trust store ${status.trust || '?'}: ${status.error}`);
    return EXIT.refused;
  }
  if (json) return status.state === 'AWAITING_SIGNATURES' ? EXIT.ok : exitCodeFor(status);
  write(io.stdout, renderRevocation(status));
  if (status.state !== 'REVOKED' || !status.key || !listed) return status.state === 'AWAITING_SIGNATURES' ? EXIT.ok : exitCodeFor(status);
  const key = status.key;
  if (listed.listError) {
    write(io.stdout, `cannot list what it signed: ${listed.listError}`);
    return EXIT.ok;
  }
  const more = (capped: boolean) => (capped ? ` (the first ${listed.limit}; more exist: --limit, or temporal workflow list --query "CountersignPlatformKey='${key.fingerprint}'")` : '');
  write(io.stdout, `signed with it (re-sign or quarantine): ${listed.signed.length}${more(listed.capped.signed)}`);
  for (const p of listed.signed) write(io.stdout, `  ${p.promotionId}  ${p.state}  ${p.target}  ${p.digest}${p.signature === 'possible' ? '  (prod-sign did not finish: check the image)' : ''}`);
  write(io.stdout, `in flight, their production signature will be refused: ${listed.inFlight.length}${more(listed.capped.inFlight)}`);
  for (const p of listed.inFlight) write(io.stdout, `  ${p.promotionId}  ${p.state}`);
  return EXIT.ok;
}

function listingLimit(value: unknown): number {
  if (value === undefined) return PINNED_LISTING_LIMIT;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new CountersignError('BAD_INPUT', `--limit must be a whole number of at least 1, not "${String(value)}"`);
  return n;
}

