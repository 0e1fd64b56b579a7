/** Workflow id for a promotion: derived from target and digest, so a repeated trigger finds it. No I/O. */
export function promotionWorkflowId(target: string, digest: string): string {
  return `promote-${target}-${digest.replace(/^sha256:/, '').slice(0, 16)}`;
}
