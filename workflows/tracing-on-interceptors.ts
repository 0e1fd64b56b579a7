/**
 * Bundled by a worker that traces (workers/worker.ts): the fixed shape of ./workflow-tracing.ts,
 * with spans made by the OpenTelemetry SDK inside the sandbox and sent out through Temporal's
 * `exporter` sink, which is not called while a workflow replays. Span context travels in the
 * `_tracer-data` header as Temporal's OpenTelemetry interceptors carry it, so the client's and
 * the activities' spans join the same trace.
 */
import type { Headers } from '@temporalio/common';
import { ContinueAsNew } from '@temporalio/workflow';
import { tracingInterceptors, type SpanHandle, type WorkflowSpans } from './workflow-tracing';

/** The header Temporal's OpenTelemetry interceptors carry a trace context in. */
const TRACE_HEADER = '_tracer-data';

/** Built on a traced run's first span: the OpenTelemetry modules are evaluated only in a worker that traces. */
function openTelemetrySpans(): WorkflowSpans {
  /* eslint-disable @typescript-eslint/no-require-imports */
  // Gives the sandbox the `performance` and `window` OpenTelemetry's browser build expects.
  require('@temporalio/interceptors-opentelemetry/lib/workflow/runtime');
  const api = require('@opentelemetry/api') as typeof import('@opentelemetry/api');
  const { W3CTraceContextPropagator } = require('@opentelemetry/core') as typeof import('@opentelemetry/core');
  const { BasicTracerProvider, SimpleSpanProcessor } = require('@opentelemetry/sdk-trace-base') as typeof import('@opentelemetry/sdk-trace-base');
  const { SpanExporter } = require('@temporalio/interceptors-opentelemetry/lib/workflow/span-exporter') as typeof import('@temporalio/interceptors-opentelemetry/lib/workflow/span-exporter');
  const { defaultPayloadConverter } = require('@temporalio/common') as typeof import('@temporalio/common');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const tracer = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(new SpanExporter())] }).getTracer('countersign-workflow');
  const propagator = new W3CTraceContextPropagator();
  type Span = import('@opentelemetry/api').Span;

  const contextOf = (from: { headers?: Headers; parent?: SpanHandle }) => {
    if (from.parent) return api.trace.setSpan(api.ROOT_CONTEXT, from.parent as Span);
    const carried = from.headers?.[TRACE_HEADER];
    if (!carried) return api.ROOT_CONTEXT;
    // Whoever starts or updates a run writes its headers: one that cannot be read starts a new trace, never fails the call.
    try {
      const carrier = defaultPayloadConverter.fromPayload<unknown>(carried);
      if (!carrier || typeof carrier !== 'object') return api.ROOT_CONTEXT;
      return propagator.extract(api.ROOT_CONTEXT, carrier as Record<string, string>, api.defaultTextMapGetter);
    } catch {
      return api.ROOT_CONTEXT;
    }
  };
  return {
    start: (name, from, attributes) => tracer.startSpan(name, { attributes }, contextOf(from)),
    end(handle, error) {
      const span = handle as Span;
      // Continuing as new ends a run the way it should; anything else thrown is the span's failure.
      if (error !== undefined && !(error instanceof ContinueAsNew)) {
        span.recordException(error instanceof Error ? error : String(error));
        span.setStatus({ code: api.SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
      } else span.setStatus({ code: api.SpanStatusCode.OK });
      span.end();
    },
    inject(headers, handle) {
      const carrier: Record<string, string> = {};
      propagator.inject(api.trace.setSpan(api.ROOT_CONTEXT, handle as Span), carrier, api.defaultTextMapSetter);
      return { ...headers, [TRACE_HEADER]: defaultPayloadConverter.toPayload(carrier) };
    },
    logAttributes(handle) {
      const { traceId, spanId, traceFlags } = (handle as Span).spanContext();
      return { trace_id: traceId, span_id: spanId, trace_flags: `0${traceFlags.toString(16)}` };
    },
  };
}

let spans: WorkflowSpans | undefined;
const lazySpans: WorkflowSpans = {
  start: (...args) => (spans ??= openTelemetrySpans()).start(...args),
  end: (...args) => spans!.end(...args),
  inject: (...args) => spans!.inject(...args),
  logAttributes: (...args) => spans!.logAttributes(...args),
};

export const interceptors = () => tracingInterceptors(lazySpans);
