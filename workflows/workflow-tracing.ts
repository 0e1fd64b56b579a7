/**
 * Tracing inside workflows, with one shape whether or not the worker traces.
 *
 * A workflow interceptor that adds or removes a promise between the workflow and what it awaits
 * changes the order in which its commands are sent (an update's completion against a timer the
 * gate cancels in the same task), so the interceptors a history was recorded with are part of
 * what it replays against. Temporal's OpenTelemetry interceptors wrap every call in several async
 * layers and create a span for each, in every workflow, traced or not; and the SDK records a stack
 * for every promise a workflow creates. Runs started since TRACING_SHAPE_PATCH take this module's
 * interceptors instead: each call is wrapped in exactly one `then`, traced or not, and the span
 * work (`WorkflowSpans`) runs only in a worker that traces. Runs started before it keep Temporal's
 * interceptors to their end, loaded only for them. docs/architecture.md, "Workflow tracing".
 */
import { patched, workflowInfo, type WorkflowInterceptors } from '@temporalio/workflow';
import type { Headers } from '@temporalio/common';
import { newestMarker } from './version-marker';

/** Marks runs whose calls are traced by this module's fixed shape rather than Temporal's interceptors. */
export const TRACING_SHAPE_PATCH = 'tracing-fixed-shape';

/** A span this module started; opaque to it. */
export type SpanHandle = object;

/** The span work of a worker that traces (./tracing-on-interceptors.ts); none in one that does not. */
export interface WorkflowSpans {
  /** A span under the trace context `headers` carry, or under `parent`, or a new trace's root. */
  start(name: string, from: { headers?: Headers; parent?: SpanHandle }, attributes?: Record<string, string>): SpanHandle;
  /** Ends it; an error (other than continuing as new) marks it failed. */
  end(span: SpanHandle, error?: unknown): void;
  /** The headers with the span's context added, for the activity, child or signal it starts. */
  inject(headers: Headers, span: SpanHandle): Headers;
  /** Trace and span ids for log lines. */
  logAttributes(span: SpanHandle): Record<string, string>;
}

type Interceptors = Required<WorkflowInterceptors>;
type Inbound = Interceptors['inbound'][number];
type Outbound = Interceptors['outbound'][number];
type Internals = Interceptors['internals'][number];

/** Temporal's OpenTelemetry interceptors, for a run started before TRACING_SHAPE_PATCH. */
function temporalOpenTelemetryInterceptors(): { inbound: Inbound; outbound: Outbound; internals: Internals } {
  // Loaded here, not imported: a run on the fixed shape never evaluates these modules.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const otel = require('@temporalio/interceptors-opentelemetry/lib/workflow') as typeof import('@temporalio/interceptors-opentelemetry/lib/workflow');
  return { inbound: new otel.OpenTelemetryInboundInterceptor(), outbound: new otel.OpenTelemetryOutboundInterceptor(), internals: new otel.OpenTelemetryInternalsInterceptor() };
}

/**
 * The interceptors for one workflow. `spans` is undefined in a worker that does not trace; the
 * promises are the same either way, which is what keeps a run's commands in one order on every
 * worker that replays it.
 */
export function tracingInterceptors(spans: WorkflowSpans | undefined): WorkflowInterceptors {
  // Decided once, when the workflow starts executing. patched() during replay of a run without
  // the marker answers false without settling it, so the answer is kept here: a run that began on
  // Temporal's interceptors stays on them when it goes on live.
  let previous: ReturnType<typeof temporalOpenTelemetryInterceptors> | undefined;
  let decided = false;
  const decide = () => {
    if (!decided) {
      decided = true;
      // A run with a newer marker has the fixed shape too, without this one's own marker.
      if (!newestMarker(patched) && !patched(TRACING_SHAPE_PATCH)) previous = temporalOpenTelemetryInterceptors();
    }
    return previous;
  };
  let workflowSpan: SpanHandle | undefined;
  const start = (name: string, from: { headers?: Headers; parent?: SpanHandle }, attributes?: Record<string, string>) => spans?.start(name, from, attributes);
  /** The one `then` every wrapped call gets: it ends the span, if there is one. */
  const settle = <T>(promise: Promise<T>, span: SpanHandle | undefined): Promise<T> =>
    promise.then(
      (value) => {
        if (span) spans!.end(span);
        return value;
      },
      (err: unknown) => {
        if (span) spans!.end(span, err);
        throw err;
      },
    );
  const withContext = <I extends { headers: Headers }>(input: I, span: SpanHandle | undefined): I => (span ? { ...input, headers: spans!.inject(input.headers, span) } : input);

  const inbound: Inbound = {
    execute(input, next) {
      const old = decide();
      if (old) return old.inbound.execute!(input, next);
      const { workflowType, workflowId, runId } = workflowInfo();
      workflowSpan = start(`RunWorkflow:${workflowType}`, { headers: input.headers }, { temporalWorkflowId: workflowId, run_id: runId });
      return settle(next(input), workflowSpan);
    },
    handleSignal(input, next) {
      const old = decide();
      if (old) return old.inbound.handleSignal!(input, next);
      return settle(next(input), start(`HandleSignal:${input.signalName}`, { headers: input.headers }));
    },
    handleUpdate(input, next) {
      const old = decide();
      if (old) return old.inbound.handleUpdate!(input, next);
      return settle(next(input), start(`HandleUpdate:${input.name}`, { headers: input.headers }, { temporalUpdateId: input.updateId }));
    },
    validateUpdate(input, next) {
      const old = decide();
      if (old) return old.inbound.validateUpdate!(input, next);
      const span = start(`ValidateUpdate:${input.name}`, { headers: input.headers }, { temporalUpdateId: input.updateId });
      try {
        next(input);
        if (span) spans!.end(span);
      } catch (err) {
        if (span) spans!.end(span, err);
        throw err;
      }
    },
    handleQuery(input, next) {
      const old = decide();
      if (old) return old.inbound.handleQuery!(input, next);
      return settle(next(input), start(`HandleQuery:${input.queryName}`, { headers: input.headers }));
    },
  };

  /** A call out of the workflow: its span hangs off the workflow's, and its context goes in the headers. */
  const callOut = <I extends { headers: Headers }, T>(name: string, input: I, next: (input: I) => Promise<T>): Promise<T> => {
    const span = start(name, { parent: workflowSpan });
    return settle(next(withContext(input, span)), span);
  };
  const outbound: Outbound = {
    scheduleActivity: (input, next) => (decide() ? previous!.outbound.scheduleActivity!(input, next) : callOut(`StartActivity:${input.activityType}`, input, next)),
    scheduleLocalActivity: (input, next) => (decide() ? previous!.outbound.scheduleLocalActivity!(input, next) : callOut(`StartActivity:${input.activityType}`, input, next)),
    startChildWorkflowExecution: (input, next) => (decide() ? previous!.outbound.startChildWorkflowExecution!(input, next) : callOut(`StartChildWorkflow:${input.workflowType}`, input, next)),
    signalWorkflow: (input, next) => (decide() ? previous!.outbound.signalWorkflow!(input, next) : callOut(`SignalWorkflow:${input.signalName}`, input, next)),
    continueAsNew: (input, next) => (decide() ? previous!.outbound.continueAsNew!(input, next) : callOut(`ContinueAsNew:${input.options.workflowType}`, input, next)),
    // Never decides: the SDK asks for log attributes before the workflow executes (its "started" line).
    getLogAttributes(input, next) {
      if (previous) return previous.outbound.getLogAttributes!(input, next);
      return next(workflowSpan ? { ...spans!.logAttributes(workflowSpan), ...input } : input);
    },
  };

  const internals: Internals = {
    dispose(input, next) {
      // Never decides: a workflow evicted before it executed had nothing traced.
      if (previous) return previous.internals.dispose!(input, next);
      next(input);
    },
  };
  return { inbound: [inbound], outbound: [outbound], internals: [internals] };
}
