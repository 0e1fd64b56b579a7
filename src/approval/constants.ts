/** Type URI of the statement an approver signs. */
export const APPROVAL_STATEMENT_TYPE = 'https://countersign.dev/approval-statement/v1';
/** Predicate type of the approval record attached to a released artifact (docs/approvals.md). */
export const APPROVAL_PREDICATE_TYPE = 'https://countersign.dev/attestations/approval/v1';
