/**
 * OpenTelemetry traces over OTLP/HTTP, configured only by the standard OTEL_* variables of the
 * process's own environment (OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
 * OTEL_EXPORTER_OTLP_HEADERS, OTEL_SERVICE_NAME, OTEL_TRACES_EXPORTER=none, OTEL_BSP_*). Neither
 * endpoint set: no tracing, nothing exported. docs/operations.md, Traces.
 */
import { trace, type Span, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, NoopSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';

export interface Tracing {
  tracer: Tracer;
  resource: Resource;
  /** Where spans go: the OTLP exporter's batch processor (the worker hands it workflow spans too). */
  spanProcessor: SpanProcessor;
  /** Flushes what is buffered and stops; call before the process exits. */
  shutdown(): Promise<void>;
}

/** Whether the environment asks for traces: an OTLP endpoint, and OTEL_TRACES_EXPORTER not "none". */
export function tracingRequested(env: NodeJS.ProcessEnv): boolean {
  if ((env.OTEL_TRACES_EXPORTER ?? '').split(',').map((s) => s.trim()).includes('none')) return false;
  return Boolean(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim());
}

let active: Tracing | undefined;

/**
 * Starts tracing for this process when the environment asks for it (once; later calls return the
 * same), and registers it globally so Temporal's interceptors and the CLI share one provider.
 */
export function startTracing(serviceName: string, env: NodeJS.ProcessEnv = process.env): Tracing | undefined {
  if (active) return active;
  if (!tracingRequested(env)) return undefined;
  const resource = new Resource({ 'service.name': env.OTEL_SERVICE_NAME?.trim() || serviceName });
  // The exporter reads OTEL_EXPORTER_OTLP_* itself (endpoint, headers, timeout), as the specification says.
  const spanProcessor = new BatchSpanProcessor(new OTLPTraceExporter());
  const provider = new BasicTracerProvider({ resource, spanProcessors: [spanProcessor] });
  provider.register({ contextManager: new AsyncLocalStorageContextManager().enable(), propagator: new W3CTraceContextPropagator() });
  active = {
    tracer: trace.getTracer('countersign'),
    resource,
    spanProcessor,
    shutdown: async () => {
      await provider.shutdown();
    },
  };
  return active;
}

/** The tracing this process started, if any. */
export function currentTracing(): Tracing | undefined {
  return active;
}

/** A processor that drops workflow spans, for a worker without tracing (the workflow interceptors always run). */
export function droppingSpanProcessor(): SpanProcessor {
  return new NoopSpanProcessor();
}

/** Runs `fn` in a span named `name` when tracing is on (ending it, with the error recorded, either way). */
export async function inSpan<T>(name: string, attributes: Record<string, string>, fn: (span?: Span) => Promise<T>): Promise<T> {
  if (!active) return fn();
  return active.tracer.startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      span.recordException(err as Error);
      span.setStatus({ code: 2, message: (err as Error).message });
      throw err;
    } finally {
      span.end();
    }
  });
}
