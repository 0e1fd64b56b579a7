import os from 'node:os';
import { getPromotionStatus, listPromotions, signAndDecide, startPromotion, waitForPromotion } from '../../client/promotions';
import { parseDuration } from '../../duration';
import { CountersignError } from '../../errors';
import type { PromotionStatus } from '../../../workflows/promotion-messages';
import { EXIT, printJson, write, type Command } from '../command';
import { connectClient, findTarget, loadCliConfig } from '../context';
import { personalKeyHelp, personalSigner, PERSONAL_KEY_OPTIONS, whoIsSigning } from '../personal-key';
import { renderChartStatus, renderStatus } from '../render';
import { getChartReleaseStatus } from '../../helm/release-client';

/** Exit code for a promotion's final (or current) state. */
export function exitCodeFor(status: { state: string }): number {
  switch (status.state) {
    case 'REJECTED':
      return EXIT.rejected;
    case 'EXPIRED':
      return EXIT.expired;
    case 'FAILED':
      return EXIT.failed;
    default:
      return EXIT.ok;
  }
}

export const promoteCommand: Command = {
  name: 'promote',
  summary: 'start a promotion of a directory build or an existing signed image',
  usage: 'countersign promote (--dir DIR | --image REF@sha256:...) --target NAME --source-repo URL --commit SHA --build-command CMD --builder-id URI [--wait]',
  options: {
    dir: { type: 'string' },
    image: { type: 'string' },
    target: { type: 'string', short: 't' },
    'source-repo': { type: 'string' },
    commit: { type: 'string' },
    'build-command': { type: 'string' },
    'builder-id': { type: 'string' },
    'commit-author': { type: 'string' },
    initiator: { type: 'string' },
    deadline: { type: 'string' },
    wait: { type: 'boolean', short: 'w' },
  },
  optionHelp: {
    dir: 'directory to build into an image with the built-in deterministic builder',
    image: 'an image already built, signed and attested by the developer CI, pinned by digest',
    target: 'target from the config (optional when there is only one)',
    'source-repo': 'source repository the build came from',
    commit: 'commit that was built (hex)',
    'build-command': 'the command that produced the build',
    'builder-id': 'builder identity URI recorded in the provenance',
    'commit-author': 'who authored the commit (recorded in the provenance; they may not approve)',
    initiator: 'who starts this promotion (default $USER)',
    deadline: "approval deadline for this promotion (e.g. 30m, 72h; default: the target's)",
    wait: 'show progress until the promotion ends; exit code reflects the outcome',
  },
  details: 'Exit codes with --wait: 0 promoted, 4 rejected, 5 expired, 6 failed.',
  async run(args, io) {
    const v = args.values as Record<string, string | boolean | undefined>;
    if ((v.dir === undefined) === (v.image === undefined)) throw new CountersignError('BAD_INPUT', 'give exactly one of --dir or --image');
    const config = loadCliConfig(args, io.env);
    const target = findTarget(config, v.target as string | undefined);
    const { client, close } = await connectClient(args, io.env);
    try {
      const started = await startPromotion(client, {
        target,
        source: v.dir !== undefined ? { directory: v.dir as string } : { image: v.image as string },
        build: {
          sourceRepo: (v['source-repo'] as string) ?? '',
          commit: (v.commit as string) ?? '',
          buildCommand: (v['build-command'] as string) ?? '',
          builderId: (v['builder-id'] as string) ?? '',
          commitAuthor: (v['commit-author'] as string | undefined) || undefined,
        },
        initiator: (v.initiator as string) ?? io.env.USER ?? os.userInfo().username,
        deadlineMs: v.deadline ? parseDuration(v.deadline as string, '--deadline') : undefined,
      });
      if (!v.wait) {
        if (v.json) printJson(io, started);
        else write(io.stdout, `${started.attached ? 'attached to running promotion' : 'started promotion'} ${started.promotionId}\n  image: ${started.repository}@${started.digest}`);
        return EXIT.ok;
      }
      if (!v.json) write(io.stderr, `${started.attached ? 'attached to' : 'started'} ${started.promotionId} for ${started.repository}@${started.digest}`);
      const final = await waitForPromotion(client, started.promotionId, { onUpdate: progressPrinter(io, Boolean(v.json)) });
      if (v.json) printJson(io, final);
      else write(io.stdout, renderStatus(final));
      return exitCodeFor(final);
    } finally {
      await close();
    }
  },
};

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
  details: 'Exit codes: 0 promoted or in progress, 3 unknown id, 4 rejected, 5 expired, 6 failed.',
  async run(args, io) {
    const id = args.positionals[0];
    if (!id) throw new CountersignError('BAD_INPUT', 'a promotion id is required (see countersign list)');
    const { client, close } = await connectClient(args, io.env);
    try {
      if (id.startsWith('chart-')) {
        const chart = await getChartReleaseStatus(client, id);
        if (args.values.json) printJson(io, chart);
        else write(io.stdout, renderChartStatus(chart));
        return exitCodeFor(chart);
      }
      const status = await getPromotionStatus(client, id);
      if (args.values.json) printJson(io, status);
      else write(io.stdout, renderStatus(status));
      return exitCodeFor(status);
    } finally {
      await close();
    }
  },
};

export const listCommand: Command = {
  name: 'list',
  summary: 'list promotions and chart releases, newest first',
  usage: 'countersign list [--kind promotion|chart|all] [--state STATE] [--target NAME] [--limit N] [--json]',
  options: { kind: { type: 'string' }, state: { type: 'string' }, target: { type: 'string', short: 't' }, limit: { type: 'string' } },
  optionHelp: {
    kind: 'promotion (images), chart (chart releases; their target is chart:NAME) or all (default)',
    state: 'only this state (e.g. AWAITING_APPROVAL, PROMOTED, REJECTED)',
    target: 'only this target',
    limit: 'at most this many (default 100)',
  },
  async run(args, io) {
    const limit = args.values.limit === undefined ? 100 : Number(args.values.limit);
    if (!Number.isInteger(limit) || limit < 1) throw new CountersignError('BAD_INPUT', `--limit must be a positive whole number, not "${args.values.limit}"`);
    const kind = (args.values.kind as string | undefined) ?? 'all';
    if (kind !== 'promotion' && kind !== 'chart' && kind !== 'all') throw new CountersignError('BAD_INPUT', `--kind must be promotion, chart or all, not "${kind}"`);
    const { client, close } = await connectClient(args, io.env);
    try {
      const rows = await listPromotions(client, { state: args.values.state as string, target: args.values.target as string, limit, kind });
      if (args.values.json) printJson(io, rows);
      else if (rows.length === 0) write(io.stdout, 'no promotions match');
      else {
        for (const r of rows) write(io.stdout, `${r.promotionId.padEnd(40)} ${String(r.state).padEnd(18)} ${r.target.padEnd(12)} ${r.digest.slice(0, 19)}  ${r.startedAt ?? ''}`);
      }
      return EXIT.ok;
    } finally {
      await close();
    }
  },
};

function decisionCommand(decision: 'approve' | 'reject'): Command {
  return {
    name: decision,
    summary: decision === 'approve' ? 'approve a promotion awaiting approval (a signed statement)' : 'reject a promotion (a signed statement with a reason)',
    usage: `countersign ${decision} <promotion-id> --as NAME --key FILE${decision === 'reject' ? ' --reason TEXT' : ' [--reason TEXT]'}`,
    options: { as: { type: 'string' }, ...PERSONAL_KEY_OPTIONS, reason: { type: 'string', short: 'r' } },
    optionHelp: {
      as: 'your name in the approver roster (default $COUNTERSIGN_APPROVER, else $USER)',
      ...personalKeyHelp('the decision'),
      reason: decision === 'reject' ? 'why (required)' : 'optional note recorded with the approval',
    },
    details:
      'The statement (promotion id, digest, decision, reason, time) is signed with your key and checked against the roster public key before the workflow accepts it.\nExit codes: 0 accepted, 3 unknown promotion, 7 refused (the reason is printed).',
    async run(args, io) {
      const id = args.positionals[0];
      if (!id) throw new CountersignError('BAD_INPUT', 'a promotion id is required (see countersign list --state AWAITING_APPROVAL)');
      const reason = args.values.reason as string | undefined;
      if (decision === 'reject' && !reason?.trim()) throw new CountersignError('BAD_INPUT', 'reject needs --reason');
      const approver = whoIsSigning(args, io);
      const signer = await personalSigner(args, io, approver, 'decisions');
      const { client, close } = await connectClient(args, io.env);
      try {
        const view = await signAndDecide(client, id, { approver, decision, reason, signer });
        if (args.values.json) printJson(io, view);
        else write(io.stdout, `${decision === 'approve' ? 'approval' : 'rejection'} by ${approver} accepted for ${id}: ${view.summary}`);
        return EXIT.ok;
      } finally {
        await close();
      }
    },
  };
}

export const approveCommand = decisionCommand('approve');
export const rejectCommand = decisionCommand('reject');
