/**
 * `keys campaign`: a governance member's signed request for a compromise campaign over a revoked
 * key; the worker finds what the key signed and acts per its configuration once approvers have
 * approved the plan (docs/trust.md, Compromise campaign).
 */
import { CountersignError } from '../../errors';
import { CAMPAIGN_ENDED, requestCampaign, signCampaignRequest, waitForCampaign, waitForCampaignPlan } from '../../client/campaign';
import { untilRunCloses } from '../../client/final-result';
import { trustConfig } from '../../client/trust';
import { connectClient, loadCliConfig } from '../context';
import { EXIT, printJson, write, type Command } from '../command';
import { personalKeyHelp, personalSigner, PERSONAL_KEY_OPTIONS, whoIsSigning } from '../personal-key';
import { exitCodeFor } from './promotions';
import { renderCampaign } from '../render-keys';

export const keysCampaignCommand: Command = {
  name: 'keys campaign',
  summary: 'ask the worker for a compromise campaign over a revoked key: every image it signed is re-signed with the active key or quarantined, once approvers approve the plan',
  usage: 'countersign keys campaign <key-id|fingerprint> --trust NAME --as NAME --key FILE --reason TEXT [--wait] [--json]',
  options: { trust: { type: 'string' }, as: { type: 'string' }, reason: { type: 'string', short: 'r' }, wait: { type: 'boolean', short: 'w' }, ...PERSONAL_KEY_OPTIONS },
  optionHelp: {
    trust: 'the trust store the key belongs to (default: the only one)',
    as: 'you: a governance member of that trust store',
    reason: 'why (required; recorded in the report, the index entry and each quarantine notice)',
    ...personalKeyHelp('the campaign request'),
    wait: 'wait until the campaign has ended (approval, then every item) and print its report (default: print the plan approvers will see and exit)',
  },
  details:
    'The request names the key and why, nothing else. The worker checks it against its own configuration (you are a governance member of the store, the key is one of its keys and is revoked, the store has an active key), ' +
    "finds every image the key signed (promotions' results in Temporal, signatures in the store's target repositories), and takes each image's action from trust.<name>.campaign: resign (platform verify again, then the active key) or quarantine (the release tag is taken off it). " +
    'Approvers (trust.<name>.campaign.approvers, by default its custodians) approve the plan with: countersign approve <campaign-id> --as NAME --key FILE. Follow it with: countersign keys status <campaign-id>. ' +
    'Exit codes: 0 done (or waiting for approval), 2 bad input, 4 rejected, 5 expired, 6 failed (some items failed), 7 refused by the worker (the reason is printed).',
  async run(args, io) {
    const which = args.positionals[0];
    if (!which) throw new CountersignError('BAD_INPUT', 'give the key id or fingerprint the campaign is about (see countersign keys list)');
    const reason = String(args.values.reason ?? '');
    if (!reason.trim()) throw new CountersignError('BAD_INPUT', '--reason is required: say why the campaign runs');
    const config = loadCliConfig(args, io.env);
    const trust = trustConfig(config, args.values.trust as string | undefined);
    const who = whoIsSigning(args, io);
    const signer = await personalSigner(args, io, who, 'the campaign request');
    const { request } = await signCampaignRequest(config, trust, who, which, reason, { signer });
    const { client, close } = await connectClient(args, io.env);
    try {
      const id = await requestCampaign(client, request);
      const wait = Boolean(args.values.wait);
      // The plan is the first answer: once approvers are asked (or the worker refused, or nothing was found).
      let status = await waitForCampaignPlan(client, id);
      if (wait && !CAMPAIGN_ENDED.includes(status.state)) {
        // Approval and the items may take the day: nothing is asked meanwhile, the run's end is sent when it comes.
        status = await waitForCampaign(client, id, () => false, await untilRunCloses(client, id, CAMPAIGN_WAIT_MS));
      }
      if (args.values.json) printJson(io, status);
      if (status.state === 'REFUSED') {
        if (!args.values.json) write(io.stderr, `the worker refused the campaign over ${status.keyId || 'the key'} in trust store ${status.trust || '?'}: ${status.error}`);
        return EXIT.refused;
      }
      if (!args.values.json) write(io.stdout, renderCampaign(status));
      return exitCodeFor(status);
    } finally {
      await close();
    }
  },
};

/** How long `--wait` waits for the campaign's end: the plan's approval deadline (a day at most), then the items at the store's rate. */
const CAMPAIGN_WAIT_MS = 26 * 3_600_000;
