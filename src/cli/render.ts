import { formatDuration } from '../duration';
import type { PromotionStatus, TimelineEntry } from '../../workflows/promotion-messages';

const MARK: Record<TimelineEntry['status'], string> = {
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

export function renderTimeline(status: PromotionStatus, now = new Date()): string {
  const lines: string[] = [];
  for (const entry of status.timeline) {
    const end = entry.finishedAt ? new Date(entry.finishedAt) : now;
    const took = formatDuration(Math.max(0, end.getTime() - new Date(entry.startedAt).getTime()));
    lines.push(`  [${MARK[entry.status]}] ${entry.step.padEnd(16)} ${entry.status.padEnd(9)} ${time(entry.startedAt)}  ${took.padStart(5)}  ${entry.detail ?? ''}`.trimEnd());
    if (entry.error) lines.push(`        error: ${entry.error}`);
  }
  return lines.join('\n');
}

export function renderStatus(status: PromotionStatus): string {
  const lines = [
    `promotion ${status.promotionId}`,
    `  state:      ${status.state}`,
    `  target:     ${status.target}`,
    `  image:      ${status.repository}@${status.digest}`,
  ];
  if (status.releaseReference) lines.push(`  released:   ${status.releaseReference}`);
  if (status.state === 'AWAITING_APPROVAL') {
    const approvals = status.votes.filter((v) => v.decision === 'approve').length;
    lines.push(`  approval:   ${approvals}/${status.approval.required} from [${status.approval.approvers.join(', ')}], deadline ${status.approval.deadline ?? '-'}`);
  }
  for (const vote of status.votes) lines.push(`  vote:       ${vote.approver} ${vote.decision} at ${time(vote.at)}${vote.reason ? ` (${vote.reason})` : ''}`);
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
