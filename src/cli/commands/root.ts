/**
 * `keys root`: ask for the store's next root, or sign the one waiting for signatures, after
 * checking its draft against your copy of the configuration (docs/trust.md, The root).
 */
import type { Client } from '@temporalio/client';
import { untilRunCloses } from '../../client/final-result';
import { ROOT_ENDED, checkDraft, nextRootVersion, rootStatus, signRoot, signRootRequest, startRoot, waitForRoot, waitForRootAnswer } from '../../client/root';
import { trustConfig } from '../../client/trust';
import { hasCode } from '../../errors';
import { rootWorkflowId } from '../../requests/root-request';
import type { RootStatus } from '../../client/root';
import { connectClient, loadCliConfig } from '../context';
import { renderRoot } from '../render-keys';
import { EXIT, printJson, write, type Command } from '../command';
import { personalKeyHelp, personalSigner, PERSONAL_KEY_OPTIONS, whoIsSigning } from '../personal-key';

const EXIT_BY_STATE: Record<string, number> = { REFUSED: EXIT.refused, REJECTED: EXIT.rejected, EXPIRED: EXIT.expired, FAILED: EXIT.failed };

export const keysRootCommand: Command = {
  name: 'keys root',
  summary: "ask for the trust store's next root (the governance-signed file naming its index key), or sign the one waiting",
  usage: 'countersign keys root --trust NAME --as NAME --key FILE [--wait] [--json]',
  options: { trust: { type: 'string' }, as: { type: 'string' }, wait: { type: 'boolean', short: 'w' }, ...PERSONAL_KEY_OPTIONS },
  optionHelp: {
    trust: 'the trust store (default: the only one); it needs root: and index: in the configuration',
    as: 'you: a governance member (of the store to ask; of the newest root to sign)',
    ...personalKeyHelp('the root request and your signature of the draft'),
    wait: 'wait until the root is published, refused, rejected or expired (default: sign and exit)',
  },
  details:
    'With no root of the next version running, this signs a root request and the worker drafts the root from its configuration; otherwise it joins the running one. ' +
    "Either way the draft is checked against your copy of the configuration (store, version, governance and their keys, threshold, index key) and then you sign its sha256: " +
    "a root needs threshold signatures of the newest published root's governance (of its own for the first). Other members run the same command. " +
    'Exit codes: 0 published or waiting for signatures, 2 bad input (a draft that differs from your configuration), 4 rejected, 5 expired, 6 failed, 7 refused by the worker.',
  async run(args, io) {
    const config = loadCliConfig(args, io.env);
    const trust = trustConfig(config, args.values.trust as string | undefined);
    const who = whoIsSigning(args, io);
    const signer = await personalSigner(args, io, who, 'the trust root');
    const version = await nextRootVersion(trust);
    const rootId = rootWorkflowId(trust.name, version);
    const { client, close } = await connectClient(args, io.env);
    try {
      let status = await runningRoot(client, rootId);
      if (!status) {
        await startRoot(client, await signRootRequest(trust, who, version, signer));
        status = await waitForRootAnswer(client, rootId);
      }
      if (status.state === 'AWAITING_SIGNATURES') {
        await checkDraft(config, trust, status.text ?? '', version);
        const group = status.approval.groups[0];
        if (group?.eligible.includes(who)) status = await signRoot(client, config, trust, rootId, version, who, signer);
        else if (!status.approval.votes.some((v) => v.approver === who)) write(io.stderr, `${who} is not among those who sign root ${version} (${group?.name}: ${[...(group?.eligible ?? [])].join(', ')}); nothing signed`);
      }
      if (args.values.wait && !ROOT_ENDED.includes(status.state)) {
        // Signatures may take the day: nothing is asked meanwhile, the run's end is sent when it comes.
        status = await waitForRoot(client, rootId, () => false, await untilRunCloses(client, rootId, SIGNATURE_WAIT_MS));
      }
      if (args.values.json) printJson(io, status);
      else write(io.stdout, renderRoot(status, trust.name));
      return EXIT_BY_STATE[status.state] ?? EXIT.ok;
    } finally {
      await close();
    }
  },
};

/** How long `--wait` waits for the root's signatures: the gate's deadline is a day. */
const SIGNATURE_WAIT_MS = 25 * 3_600_000;

/** The root workflow of this version when it is waiting for signatures (or still deciding); undefined when a new one should start. */
async function runningRoot(client: Client, rootId: string): Promise<RootStatus | undefined> {
  try {
    const status = await rootStatus(client, rootId);
    if (status.state === 'AUTHORIZING') return waitForRootAnswer(client, rootId);
    return status.state === 'AWAITING_SIGNATURES' || status.state === 'PUBLISHING' ? status : undefined;
  } catch (err) {
    if (hasCode(err, 'UNKNOWN_PROMOTION')) return undefined;
    throw err;
  }
}
