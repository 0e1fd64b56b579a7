/**
 * The patch markers that stand for the ones before them: a run carries one, the newest when it
 * started.
 *
 * FEWER_WRITES_PATCH: the marker workflows started from it until LOCAL_TO_GATE_PATCH carried.
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

/**
 * The marker workflows started from it until LOCAL_PROD_SIGN_PATCH carried instead of
 * FEWER_WRITES_PATCH, standing for it and for all it implies. In a promotion it also means the
 * steps up to the gate (keys check, build or resolve, attest, dev sign) run as local steps, beside
 * the workflow task, as the short steps after FEWER_WRITES_PATCH already did (docs/architecture.md,
 * "Local steps").
 */
export const LOCAL_TO_GATE_PATCH = 'local-steps-to-the-gate';

/**
 * The marker every workflow started since it carries instead of LOCAL_TO_GATE_PATCH, standing for
 * it and for all it implies. In a promotion it also means prod sign runs as a local step, in the
 * workflow task that takes the approval, with release after it (docs/architecture.md, "Local
 * steps").
 */
export const LOCAL_PROD_SIGN_PATCH = 'local-prod-sign';

export type VersionMarker = typeof LOCAL_PROD_SIGN_PATCH | typeof LOCAL_TO_GATE_PATCH | typeof FEWER_WRITES_PATCH;

/**
 * Which of these markers this run carries (undefined: none, a run started before them).
 * Checked newest first, so a new run writes only the newest; `patched` is the workflow API's.
 */
export function newestMarker(patched: (id: string) => boolean): VersionMarker | undefined {
  if (patched(LOCAL_PROD_SIGN_PATCH)) return LOCAL_PROD_SIGN_PATCH;
  if (patched(LOCAL_TO_GATE_PATCH)) return LOCAL_TO_GATE_PATCH;
  return patched(FEWER_WRITES_PATCH) ? FEWER_WRITES_PATCH : undefined;
}
