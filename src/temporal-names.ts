/**
 * Names shared by the workflows and everything that talks to them from outside: the task queue,
 * workflow type names and search attributes. Constants only: the workflow bundle imports them.
 */
export const TASK_QUEUE = 'countersign';
export const PROMOTION_WORKFLOW_TYPE = 'promotion';

export const SEARCH_ATTRIBUTES = {
  state: 'CountersignState',
  target: 'CountersignTarget',
  digest: 'CountersignDigest',
  /** Fingerprint of the platform key the promotion pinned at start (rotation and revocation find promotions by it). */
  platformKey: 'CountersignPlatformKey',
} as const;

/** Their types, for registering them on a server (all keywords). */
export const SEARCH_ATTRIBUTE_TYPES: Record<string, 'Keyword'> = {
  [SEARCH_ATTRIBUTES.state]: 'Keyword',
  [SEARCH_ATTRIBUTES.target]: 'Keyword',
  [SEARCH_ATTRIBUTES.digest]: 'Keyword',
  [SEARCH_ATTRIBUTES.platformKey]: 'Keyword',
};

