/**
 * Wires countersign's metrics (src/metrics/) into the worker: an activity interceptor times every
 * step attempt and reads what the step itself returned (signatures written, failed checks), and
 * the sink the workflow interceptors (workflows/observe-interceptors.ts) report promotions to.
 * Only results the worker's own activities produced are read; nothing from a workflow's input.
 */
import type { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { ActivityInterceptorsFactory, InjectedSinks } from '@temporalio/worker';
import type { CountersignMetrics } from '../src/metrics/metrics';
import type { ObserveSinks } from '../workflows/observe-interceptors';

interface Check {
  ok?: unknown;
  code?: unknown;
}

/** The failure's code as the step reported it (asActivity makes a CountersignError's code the type). */
export function failureCode(err: unknown): string {
  if (err instanceof CancelledFailure) return 'CANCELLED';
  if (err instanceof ApplicationFailure && typeof err.type === 'string') return err.type;
  return 'UNEXPECTED';
}

function afterSuccess(metrics: CountersignMetrics, step: string, args: unknown[], result: unknown): void {
  const out = result as Record<string, unknown> | undefined;
  if (step === 'devSign' && out?.signatureAdded === true) {
    const plan = (args[0] as { plan?: { keys?: { developer?: { fingerprint?: unknown } } } } | undefined)?.plan;
    metrics.signed('developer', plan?.keys?.developer?.fingerprint);
  } else if (step === 'prodSign' && out?.added === true) {
    metrics.signed('production', out.keyFingerprint);
  } else if (step === 'platformVerify' && out?.ok === false && Array.isArray(out.checks)) {
    for (const check of out.checks as Check[]) if (check?.ok === false) metrics.verificationRefused(check.code ?? 'UNSPECIFIED');
  }
}

export function metricsActivityInterceptor(metrics: CountersignMetrics): ActivityInterceptorsFactory {
  return (ctx: Context) => ({
    inbound: {
      async execute(input, next) {
        const step = ctx.info.activityType;
        const started = process.hrtime.bigint();
        const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
        try {
          const result = await next(input);
          metrics.stepEnded(step, seconds());
          afterSuccess(metrics, step, input.args, result);
          return result;
        } catch (err) {
          metrics.stepEnded(step, seconds(), failureCode(err));
          throw err;
        }
      },
    },
  });
}

export function metricsSinks(metrics: CountersignMetrics): InjectedSinks<ObserveSinks> {
  return {
    countersignMetrics: {
      promotionStarted: { fn: (_info, target) => metrics.promotionStarted(target) },
      promotionEnded: { fn: (_info, target, state) => metrics.promotionEnded(target, state) },
      gateClosed: { fn: (_info, target, outcome, seconds) => metrics.gateClosed(target, outcome, seconds) },
    },
  };
}
