/**
 * Preloaded into the workflow sandbox, before the SDK freezes its globals, by a worker that runs
 * without workflow stack traces (workers/worker.ts, workflowBundle). Temporal's SDK records where
 * every workflow promise was made (for the `__stack_trace` query) by capturing a stack trace in
 * the sandbox and mapping each frame through the bundle's source map; with no frames to capture
 * that record costs next to nothing. Errors raised in workflow code keep their messages (every
 * countersign failure names its code and facts there), without frames.
 */
Error.stackTraceLimit = 0;

export {};
