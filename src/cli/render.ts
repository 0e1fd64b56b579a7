import { formatDuration } from '../duration';
import type { ApprovalView, ChartReleaseStatus, ChartTimelineEntry, PromotionStatus, TimelineEntry } from '../client/types';

const MARK: Record<TimelineEntry['status'] | ChartTimelineEntry['status'], string> = {
  running: '..',
  succeeded: 'ok',
  skipped: '--',
  rejected: 'NO',
  expired: 'TO',
  failed: '!!',
};

function time(iso: string): string {
  return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

export function renderTimeline(status: { timeline: Array<TimelineEntry | ChartTimelineEntry> }, now = new Date()): string {
  const lines: string[] = [];
  for (const entry of status.timeline) {
    const end = entry.finishedAt ? new Date(entry.finishedAt) : now;
    const took = formatDuration(Math.max(0, end.getTime() - new Date(entry.startedAt).getTime()));
    lines.push(`  [${MARK[entry.status]}] ${entry.step.padEnd(16)} ${entry.status.padEnd(9)} ${time(entry.startedAt)}  ${took.padStart(5)}  ${entry.detail ?? ''}`.trimEnd());
    if (entry.error) lines.push(`        error: ${entry.error}`);
  }
  return lines.join('\n');
}

/** "Why is this blocked?": each group's progress, who voted, who may not vote, time left. */
export function renderApproval(view: ApprovalView): string[] {
  const lines = [`  approval:   ${view.state.toLowerCase()}: ${view.summary}`];
  for (const g of view.groups) {
    const waitingOn = g.missing > 0 && g.eligible.length > 0 ? `; can still approve: ${g.eligible.join(', ')}` : '';
    lines.push(`    group ${g.name}: ${g.have}/${g.required}${waitingOn}`);
  }
  for (const v of view.votes) {
    lines.push(`    ${v.decision === 'approve' ? 'approved' : 'rejected'} by ${v.approver}${v.countedFor ? ` (for ${v.countedFor})` : ''} at ${time(v.acceptedAt)}${v.reason ? `: ${v.reason}` : ''}`);
  }
  for (const e of view.excluded) lines.push(`    ${e.approver} may not approve: ${e.why}`);
  if (view.evidence) {
    const changed = view.evidence.changedAt ? `, changed at ${time(view.evidence.changedAt)}` : '';
    lines.push(`    evidence pack ${view.evidence.digest} (a vote counts signed over it; checked at ${time(view.evidence.checkedAt)}${changed})`);
  }
  for (const d of view.dropped ?? []) lines.push(`    no longer counts: ${d.approver}'s ${d.decision} (${d.why})`);
  if (view.state === 'OPEN' && view.msLeft !== undefined) lines.push(`    deadline ${view.deadline} (${formatDuration(view.msLeft)} left), ${view.reminders} reminder(s) sent${view.escalatedAt ? `, escalated at ${time(view.escalatedAt)}` : ''}`);
  return lines;
}

/** `links.temporalUi`: the run in the Temporal Web UI, when the reader's UI address is known. */
export function renderStatus(status: PromotionStatus, links: { temporalUi?: string } = {}): string {
  const lines = [
    `promotion ${status.promotionId}`,
    `  state:      ${status.state}`,
    `  target:     ${status.target}`,
    `  image:      ${status.repository ? `${status.repository}@` : ''}${status.digest}`,
  ];
  if (status.initiator) lines.push(`  started by: ${status.initiator} (signed start request)`);
  if (status.policyDigest) lines.push(`  policy:     ${status.policyDigest} (the worker's configuration, pinned at start)`);
  if (status.reopenedBy) lines.push(`  re-opened:  by ${status.reopenedBy.reopener} after run ${status.reopenedBy.rejectedRunId}: ${status.reopenedBy.reason}`);
  if (status.releaseReference) lines.push(`  released:   ${status.releaseReference}`);
  if (links.temporalUi) lines.push(`  temporal:   ${links.temporalUi}`);
  for (const notice of status.notices ?? []) lines.push(`  note:       ${notice}`);
  if (status.approval.state !== 'WAITING') lines.push(...renderApproval(status.approval));
  if (status.error) lines.push(`  error:      ${status.error}`);
  lines.push('timeline:');
  lines.push(renderTimeline(status));
  const failed = status.checks.filter((c) => !c.ok);
  if (failed.length > 0) {
    lines.push('failed checks:');
    for (const c of failed) lines.push(`  - ${c.name}: ${c.message}`);
  }
  return lines.join('\n');
}

export function renderChartStatus(status: ChartReleaseStatus, links: { temporalUi?: string } = {}): string {
  const lines = [
    `chart release ${status.releaseId}`,
    `  state:      ${status.state}`,
    `  chart:      ${status.name} ${status.version} (sha256:${status.sha256})`,
  ];
  if (status.published?.repositoryDir) lines.push(`  repository: ${status.published.repositoryDir}`);
  if (status.published?.ociReference) lines.push(`  oci:        ${status.published.ociReference}`);
  if (links.temporalUi) lines.push(`  temporal:   ${links.temporalUi}`);
  if (status.approval.state !== 'WAITING') lines.push(...renderApproval(status.approval));
  if (status.error) lines.push(`  error:      ${status.error}`);
  lines.push('timeline:', renderTimeline(status));
  const failed = status.checks.filter((c) => !c.ok);
  if (failed.length > 0) lines.push('failed checks:', ...failed.map((c) => `  - ${c.name}: ${c.message}`));
  return lines.join('\n');
}
