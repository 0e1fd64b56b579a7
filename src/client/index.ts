/** The package's entry point: `import { CountersignClient } from 'countersign'` (docs/client.md). */
export { CountersignClient, type CountersignClientOptions, type Decision, type FollowOptions } from './countersign-client';
export type { PromoteRequest, PromoteResult, PromoteSource, PromotionSummary } from './promotions';
export type { ApprovalView, PromotionStatus, TimelineEntry } from './types';
export { TERMINAL_STATES } from '../../workflows/promotion-messages';
export type { PromotionState } from '../../workflows/promotion-messages';
export type { Signer } from '../keys/signer';
export { FileSigner } from '../keys/file-signer';
export { CountersignError, hasCode, type ErrorCode } from '../errors';
