import fs from 'node:fs';
import { signReopen } from '../../client/promotions';
import type { SignedStatement } from '../../requests/statement';
import { parseDuration } from '../../duration';
import { CountersignError } from '../../errors';
import type { PromotionStatus } from '../../client/types';
import { EXIT, printJson, write, type Command, type CommandIo, type ParsedArgs } from '../command';
import { connectClient, connectCountersign } from '../context';
import { personalKeyHelp, personalSigner, PERSONAL_KEY_OPTIONS, whoIsSigning } from '../personal-key';
import { renderChartStatus, renderStatus } from '../render';
import { getChartReleaseStatus } from '../../client/chart-releases';
import { HISTORY_KINDS, keyHistoryFromTemporal, type HistoryKind } from '../../client/key-history';
import { keyWorkflowStatus } from '../../client/trust';
import { renderKeyWorkflow } from '../render-keys';

/** Exit code for a promotion's final (or current) state. */
export function exitCodeFor(status: { state: string }): number {
  switch (status.state) {
    case 'REJECTED':
      return EXIT.rejected;
    case 'EXPIRED':
      return EXIT.expired;
    case 'FAILED':
      return EXIT.failed;
    case 'REFUSED':
      return EXIT.refused;
    default:
      return EXIT.ok;
  }
}

export const promoteCommand: Command = {
  name: 'promote',
  summary: 'start a promotion of a directory build or an existing signed image, with a signed start request',
  usage:
    'countersign promote --target NAME --as INITIATOR --key FILE (--dir DIR --source-repo URL --commit SHA --build-command CMD --builder-id URI | --image REF@sha256:... [--commit SHA]) [--wait]',
  options: {
    dir: { type: 'string' },
    image: { type: 'string' },
    target: { type: 'string', short: 't' },
    'source-repo': { type: 'string' },
    commit: { type: 'string' },
    ref: { type: 'string' },
    'build-command': { type: 'string' },
    'builder-id': { type: 'string' },
    as: { type: 'string' },
    ...PERSONAL_KEY_OPTIONS,
    deadline: { type: 'string' },
    reopen: { type: 'string' },
    wait: { type: 'boolean', short: 'w' },
  },
  optionHelp: {
    dir: "directory to build with the built-in deterministic builder (must lie under one of the target's sources in the worker's configuration)",
    image: "an image already built, signed and attested by the developer's CI, pinned by digest, in the target's repository",
    target: "the target's name in the worker's configuration",
    'source-repo': 'source repository the build came from (--dir)',
    commit: 'full commit that was built (--dir), or that the image must attest (--image)',
    ref: 'the branch or tag that was built, e.g. refs/heads/main (--dir)',
    'build-command': 'the command that produced the build (--dir)',
    'builder-id': 'builder identity URI recorded in the provenance (--dir)',
    as: 'your initiator name in the worker\'s configuration (default $COUNTERSIGN_APPROVER or the login name)',
    ...personalKeyHelp('the start request'),
    deadline: "a shorter approval deadline for this promotion than the target's (e.g. 30m); never longer",
    reopen: 'a signed re-open (JSON from countersign reopen), when the last run for this target and image was REJECTED',
    wait: 'show progress until the promotion ends; exit code reflects the outcome',
  },
  details:
    'The worker checks the signed start request against its own configuration (initiators:, and the targets each may start) before any step runs: ' +
    'the policy, approvers, keys and repository are the target\'s there, never the caller\'s. It answers once the promotion is at the approval gate, or ended before it. ' +
    'Exit codes: 7 when the worker refuses the request; 4 rejected, 6 failed (before the gate, or with --wait after it); with --wait also 0 promoted, 5 expired.',
  async run(args, io) {
    const v = args.values as Record<string, string | boolean | undefined>;
    if ((v.dir === undefined) === (v.image === undefined)) throw new CountersignError('BAD_INPUT', 'give exactly one of --dir or --image');
    if (!v.target) throw new CountersignError('BAD_INPUT', "--target is required: the target's name in the worker's configuration");
    if (v.image !== undefined) {
      const ignored = ['source-repo', 'build-command', 'builder-id', 'ref'].filter((k) => v[k] !== undefined);
      if (ignored.length > 0) throw new CountersignError('BAD_INPUT', `${ignored.map((k) => `--${k}`).join(', ')} describe a directory build; an image's own provenance is the evidence`);
    }
    if (v.dir !== undefined) {
      // The worker checks these too; naming every missing one here saves a round trip.
      const missing = ['source-repo', 'builder-id', 'build-command', 'commit'].filter((k) => !v[k]).map((k) => `--${k}`);
      if (missing.length > 0) throw new CountersignError('BAD_INPUT', `a directory build needs ${missing.join(', ')} (the facts its provenance records)`);
    }
    if (v.commit !== undefined && !/^[0-9a-f]{7,64}$/i.test(v.commit as string)) throw new CountersignError('BAD_INPUT', `--commit "${v.commit}" is not a hex commit id`);
    const reopen = v.reopen ? readSignedFile(v.reopen as string, '--reopen') : undefined;
    const initiator = whoIsSigning(args, io);
    const signer = await personalSigner(args, io, initiator, 'the start request');
    const cs = await connectCountersign(args, io.env);
    try {
      // The answer comes when the run reaches the gate, passes it or ends (the waitForGate update
      // rides on the start): a refusal, a failed step or the gate's view, without polling.
      const started = await cs.startUntilGate({
        target: v.target as string,
        source: v.dir !== undefined ? { directory: v.dir as string } : { image: v.image as string },
        ...(v.dir !== undefined
          ? {
              build: {
                sourceRepo: (v['source-repo'] as string) ?? '',
                commit: (v.commit as string) ?? '',
                buildCommand: (v['build-command'] as string) ?? '',
                builderId: (v['builder-id'] as string) ?? '',
                ...(v.ref ? { ref: v.ref as string } : {}),
              },
            }
          : v.commit
            ? { commit: v.commit as string }
            : {}),
        initiator,
        signer,
        deadlineMs: v.deadline ? parseDuration(v.deadline as string, '--deadline') : undefined,
        reopen,
      });
      const what = started.reference ?? `${v.dir} (${started.digest})`;
      const authorised = started.gate;
      if (!v.wait) {
        if (authorised.state === 'REFUSED') {
          if (v.json) printJson(io, { ...withoutGate(started), state: authorised.state, error: authorised.error });
          else write(io.stderr, `the worker refused the start request for ${started.promotionId}: ${authorised.error}`);
          return EXIT.refused;
        }
        if (v.json) printJson(io, { ...withoutGate(started), state: authorised.state });
        else write(io.stdout, `${started.attached ? 'attached to running promotion' : 'started promotion'} ${started.promotionId}\n  artifact: ${what}\n  started by: ${authorised.initiator ?? initiator}\n  state: ${authorised.state}`);
        // Answered at the gate: a run that ended before it (rejected by platform verify, failed) says so in the exit code too.
        return exitCodeFor(authorised);
      }
      if (!v.json) write(io.stderr, `${started.attached ? 'attached to' : 'started'} ${started.promotionId} for ${what}`);
      const progress = progressPrinter(io, Boolean(v.json));
      progress(authorised);
      // Nothing a poll would show changes while the gate waits: the run's end is sent when it comes.
      const final = await cs.waitForEnd(started.promotionId, { onUpdate: progress });
      if (v.json) printJson(io, final);
      else write(io.stdout, renderStatus(final));
      return exitCodeFor(final);
    } finally {
      await cs.close();
    }
  },
};

export const reopenCommand: Command = {
  name: 'reopen',
  summary: 'sign a re-open of a REJECTED promotion or chart release, for the initiator to pass to promote (or helm release) --reopen',
  usage: 'countersign reopen <promotion-id | chart-release-id> --as NAME --key FILE --reason TEXT [--output FILE]',
  options: { as: { type: 'string' }, ...PERSONAL_KEY_OPTIONS, reason: { type: 'string' }, output: { type: 'string', short: 'o' } },
  optionHelp: {
    as: "your name in the roster; the target's approval.reopen must list you (default $COUNTERSIGN_APPROVER or the login name)",
    ...personalKeyHelp('the re-open'),
    reason: 'why the rejection no longer stands (recorded with the next run and in its approval record)',
    output: 'write the signed re-open here (default: standard output)',
  },
  details: 'A rejection stands: a new run for the same target and artifact is refused unless it carries a re-open signed by someone the target allows. The re-open names the rejected run, so it is used once.',
  async run(args, io) {
    const id = args.positionals[0];
    if (!id) throw new CountersignError('BAD_INPUT', 'the rejected promotion id is required (see countersign list --state REJECTED)');
    const reason = (args.values.reason as string | undefined) ?? '';
    if (!reason.trim()) throw new CountersignError('BAD_INPUT', '--reason is required: why the rejection no longer stands');
    const who = whoIsSigning(args, io);
    const signer = await personalSigner(args, io, who, 'the re-open');
    const { client, close } = await connectClient(args, io.env);
    try {
      const signed = await signReopen(client, id, { reopener: who, reason, signer });
      const text = `${JSON.stringify(signed, null, 2)}\n`;
      if (args.values.output) {
        fs.writeFileSync(args.values.output as string, text, { mode: 0o644 });
        write(io.stderr, `re-open of ${id} signed by ${who} written to ${args.values.output}; start the next run with: countersign promote (or helm release) ... --reopen ${args.values.output}`);
      } else io.stdout.write(text);
      return EXIT.ok;
    } finally {
      await close();
    }
  },
};

export function readSignedFile(file: string, flag: string): SignedStatement {
  let text: string;
  try {
    const stat = fs.statSync(file);
    if (stat.size > 64 * 1024) throw new CountersignError('BAD_INPUT', `${flag} ${file} is ${stat.size} bytes; a signed statement is a few hundred`);
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (err instanceof CountersignError) throw err;
    throw new CountersignError('BAD_INPUT', `${flag} ${file} cannot be read`);
  }
  try {
    const parsed = JSON.parse(text) as SignedStatement;
    if (typeof parsed?.statement !== 'string' || typeof parsed?.signature !== 'string') throw new Error('shape');
    return { statement: parsed.statement, signature: parsed.signature };
  } catch {
    throw new CountersignError('BAD_INPUT', `${flag} ${file} is not a signed statement ({ "statement": ..., "signature": ... })`);
  }
}

/** What `promote --json` prints of a start: the gate's status is the command's own answer, given apart. */
function withoutGate<T extends { gate?: unknown }>(started: T): Omit<T, 'gate'> {
  const { gate: _gate, ...rest } = started;
  return rest;
}

/** Prints each timeline step once as it starts and as it ends, across several waits. */
export function progressPrinter(io: { stderr: NodeJS.WritableStream }, quiet: boolean): (status: PromotionStatus) => void {
  const seen = new Set<string>();
  return (status) => {
    if (quiet) return;
    for (const entry of status.timeline) {
      const key = `${entry.step}:${entry.status}`;
      if (seen.has(key)) continue;
      seen.add(key);
      write(io.stderr, `  ${entry.step} ${entry.status}${entry.detail ? `: ${entry.detail}` : ''}${entry.error ? ` (${entry.error})` : ''}`);
    }
  };
}

export const statusCommand: Command = {
  name: 'status',
  summary: 'show the state and timeline of a promotion or chart release',
  usage: 'countersign status <promotion-id | chart-release-id> [--json]',
  options: {},
  optionHelp: {},
  details: 'Key ceremonies, rotations and revocations (key-…) are shown as keys status shows them. With TEMPORAL_UI_URL set (or on the dev stack with its Web UI) it prints a link to the run in the Temporal Web UI. Exit codes: 0 promoted or in progress, 3 unknown id, 4 rejected, 5 expired, 6 failed, 7 refused.',
  async run(args, io) {
    const id = args.positionals[0];
    if (!id) throw new CountersignError('BAD_INPUT', 'a promotion id is required (see countersign list)');
    const cs = await connectCountersign(args, io.env);
    const client = cs.temporal;
    try {
      if (id.startsWith('key-')) {
        const found = await keyWorkflowStatus(client, id);
        if (args.values.json) printJson(io, found);
        else write(io.stdout, renderKeyWorkflow(found));
        return exitCodeFor(found.status);
      }
      if (id.startsWith('chart-')) {
        const chart = await getChartReleaseStatus(client, id);
        const temporalUi = await cs.temporalUiLink(id);
        if (args.values.json) printJson(io, temporalUi ? { ...chart, temporalUi } : chart);
        else write(io.stdout, renderChartStatus(chart, { temporalUi }));
        return exitCodeFor(chart);
      }
      const status = await cs.status(id);
      const temporalUi = await cs.temporalUiLink(id);
      if (args.values.json) printJson(io, temporalUi ? { ...status, temporalUi } : status);
      else write(io.stdout, renderStatus(status, { temporalUi }));
      return exitCodeFor(status);
    } finally {
      await cs.close();
    }
  },
};

export const listCommand: Command = {
  name: 'list',
  summary: 'list promotions and chart releases, newest first',
  usage: 'countersign list [--kind promotion|chart|all|ceremony|rotation|revocation|campaign] [--state STATE] [--target NAME] [--limit N] [--json]',
  options: { kind: { type: 'string' }, state: { type: 'string' }, target: { type: 'string', short: 't' }, limit: { type: 'string' } },
  optionHelp: {
    kind: 'promotion (images), chart (chart releases; their target is chart:<chart target>), all (both, the default), or ceremony, rotation, revocation, campaign (key workflows; --target is the trust store)',
    state: 'only this state (e.g. AWAITING_APPROVAL, PROMOTED, REJECTED)',
    target: 'only this target',
    limit: 'at most this many (default 100)',
  },
  async run(args, io) {
    const limit = args.values.limit === undefined ? 100 : Number(args.values.limit);
    if (!Number.isInteger(limit) || limit < 1) throw new CountersignError('BAD_INPUT', `--limit must be a positive whole number, not "${args.values.limit}"`);
    const kind = (args.values.kind as string | undefined) ?? 'all';
    if (HISTORY_KINDS.includes(kind as HistoryKind)) return listKeyWorkflows(args, io, kind as HistoryKind, limit);
    if (kind !== 'promotion' && kind !== 'chart' && kind !== 'all') throw new CountersignError('BAD_INPUT', `--kind must be promotion, chart, all, ceremony, rotation, revocation or campaign, not "${kind}"`);
    const cs = await connectCountersign(args, io.env);
    try {
      const rows = await cs.list({ state: args.values.state as string, target: args.values.target as string, limit, kind });
      if (args.values.json) printJson(io, rows);
      else if (rows.length === 0) write(io.stdout, 'no promotions match');
      else {
        for (const r of rows) write(io.stdout, `${r.promotionId.padEnd(40)} ${String(r.state).padEnd(18)} ${r.target.padEnd(12)} ${r.digest.slice(0, 19)}  ${r.startedAt ?? ''}`);
      }
      return EXIT.ok;
    } finally {
      await cs.close();
    }
  },
};

/** `list --kind ceremony|rotation|revocation`: key workflows from Temporal, newest first; --state and --target (the trust store) filter. */
async function listKeyWorkflows(args: ParsedArgs, io: CommandIo, kind: HistoryKind, limit: number): Promise<number> {
  const { client, close } = await connectClient(args, io.env);
  try {
    const state = (args.values.state as string | undefined)?.toUpperCase();
    const rows = (await keyHistoryFromTemporal(client, { kinds: [kind], trust: args.values.target as string | undefined, limit })).filter((e) => !state || e.state === state);
    if (args.values.json) printJson(io, rows);
    else if (rows.length === 0) write(io.stdout, `no key ${kind}s match`);
    else for (const r of rows) write(io.stdout, `${r.id.padEnd(48)} ${r.state.padEnd(18)} ${r.trust.padEnd(12)} ${r.startedAt ?? ''}  ${r.requestedBy ? `by ${r.requestedBy}` : ''}`.trimEnd());
    return EXIT.ok;
  } finally {
    await close();
  }
}

function decisionCommand(decision: 'approve' | 'reject'): Command {
  return {
    name: decision,
    summary: decision === 'approve' ? 'approve a promotion awaiting approval (a signed statement)' : 'reject a promotion (a signed statement with a reason)',
    usage: `countersign ${decision} <promotion-id> --as NAME --key FILE${decision === 'reject' ? ' --reason TEXT' : ' [--reason TEXT]'} [--evidence sha256:HEX]`,
    options: { as: { type: 'string' }, ...PERSONAL_KEY_OPTIONS, reason: { type: 'string', short: 'r' }, evidence: { type: 'string' } },
    optionHelp: {
      as: 'your name in the approver roster (default $COUNTERSIGN_APPROVER, else $USER)',
      ...personalKeyHelp('the decision'),
      reason: decision === 'reject' ? 'why (required)' : 'optional note recorded with the approval',
      evidence: 'the evidence pack digest you read (countersign evidence prints it); refused if the pack has changed since. Default: the pack the gate shows now',
    },
    details:
      'The statement (promotion id, digest, decision, reason, time, and the digest of the evidence pack the gate shows now: read it first with countersign evidence) is signed with your key and checked against the roster public key before the workflow accepts it. ' +
      'A vote counts while that pack is the gate\'s; if it changes (a new signed attestation), the vote stops counting and you are told why (docs/approvals.md).\nExit codes: 0 accepted, 3 unknown promotion, 7 refused (the reason is printed; EVIDENCE_STALE when the pack changed since you read it).',
    async run(args, io) {
      const id = args.positionals[0];
      if (!id) throw new CountersignError('BAD_INPUT', 'a promotion id is required (see countersign list --state AWAITING_APPROVAL)');
      const reason = args.values.reason as string | undefined;
      if (decision === 'reject' && !reason?.trim()) throw new CountersignError('BAD_INPUT', 'reject needs --reason');
      const evidence = args.values.evidence as string | undefined;
      if (evidence !== undefined && !/^sha256:[0-9a-f]{64}$/.test(evidence)) throw new CountersignError('BAD_INPUT', '--evidence must be an evidence pack digest, sha256:<64 hex digits> (countersign evidence prints it)');
      const approver = whoIsSigning(args, io);
      const signer = await personalSigner(args, io, approver, 'decisions');
      const cs = await connectCountersign(args, io.env);
      try {
        const chosen = evidence !== undefined ? { evidence } : {};
        const view = decision === 'approve' ? await cs.approve(id, { approver, reason, signer, ...chosen }) : await cs.reject(id, { approver, reason: reason!, signer, ...chosen });
        if (args.values.json) printJson(io, view);
        else write(io.stdout, `${decision === 'approve' ? 'approval' : 'rejection'} by ${approver} accepted for ${id}: ${view.summary}`);
        return EXIT.ok;
      } finally {
        await cs.close();
      }
    },
  };
}

export const approveCommand = decisionCommand('approve');
export const rejectCommand = decisionCommand('reject');
