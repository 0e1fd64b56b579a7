/** The workflows' public types, as the CLI and other clients see them (src/ outside src/client/ never imports workflows/). */
export type { ApprovalView } from '../../workflows/approval-messages';
export type { ChartReleaseStatus, ChartTimelineEntry } from '../../workflows/chart-release-messages';
export type { PromotionStatus, TimelineEntry } from '../../workflows/promotion-messages';
export type { RevocationStatus } from '../../workflows/key-revocation-messages';
export type { CeremonyStatus, RotationStatus } from '../../workflows/key-ceremony-messages';
export type { CampaignStatus } from '../../workflows/key-campaign-messages';
