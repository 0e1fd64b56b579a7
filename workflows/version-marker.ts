/**
 * The patch marker every workflow started since it carries, and carries alone.
 *
 * The SDK writes a marker event and a `TemporalChangeVersion` search-attribute upsert (a
 * visibility write) at each patch's first use in a run, so each patch kept in new runs costs
 * every run two writes. A run with this marker calls no patch before it: it implies the fixed
 * tracing shape (TRACING_SHAPE_PATCH, workflows/workflow-tracing.ts) and, in a promotion, the
 * local short steps (LOCAL_STEPS_PATCH, and what that marker implies). It also marks what
 * promotions started with it write less of: `CountersignState` is written with the pinned plan
 * in one upsert (AUTHORIZING, as the client's start set it, until then).
 * Runs started before it replay as they ran (docs/architecture.md, "Local steps").
 */
export const FEWER_WRITES_PATCH = 'one-marker-fewer-writes';
