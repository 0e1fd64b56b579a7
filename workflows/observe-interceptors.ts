/**
 * Workflow interceptors the worker bundles with every workflow: promotion metrics through a sink
 * (src/metrics/ counts them outside the sandbox). Sinks are not called while a workflow replays,
 * so a workflow taken out of the cache and replayed is not counted twice.
 */
import { proxySinks, workflowInfo, type Sinks, type WorkflowInterceptors } from '@temporalio/workflow';
import { PROMOTION_WORKFLOW_TYPE, type PromotionStatus } from './promotion-messages';

/** What a promotion tells the worker's metrics; every value is checked again outside the sandbox. */
export interface ObserveSinks extends Sinks {
  countersignMetrics: {
    promotionStarted(target: string): void;
    promotionEnded(target: string, state: string): void;
    gateClosed(target: string, outcome: string, seconds: number): void;
  };
}

const { countersignMetrics } = proxySinks<ObserveSinks>();

/** The plan authorize resolved from the worker's configuration names the target, not the request. */
function countStart(activityType: string, result: unknown): void {
  if (activityType === 'authorize') countersignMetrics.promotionStarted(String((result as { target?: unknown } | undefined)?.target ?? ''));
}

function promotionInterceptors(): WorkflowInterceptors {
  return {
    outbound: [
      {
        // Runs started before LOCAL_STEPS_PATCH authorize as a queued activity; later runs, as a local one.
        async scheduleActivity(input, next) {
          const result = await next(input);
          countStart(input.activityType, result);
          return result;
        },
        async scheduleLocalActivity(input, next) {
          const result = await next(input);
          countStart(input.activityType, result);
          return result;
        },
      },
    ],
    inbound: [
      {
        async execute(input, next) {
          const status = (await next(input)) as PromotionStatus | undefined;
          if (status && typeof status === 'object') {
            countersignMetrics.promotionEnded(String(status.target), String(status.state));
            const gate = status.timeline?.find((t) => t.step === 'approval');
            if (gate?.finishedAt) {
              const seconds = (Date.parse(gate.finishedAt) - Date.parse(gate.startedAt)) / 1000;
              countersignMetrics.gateClosed(String(status.target), gate.status, seconds);
            }
          }
          return status;
        },
      },
    ],
  };
}

export const interceptors = (): WorkflowInterceptors => (workflowInfo().workflowType === PROMOTION_WORKFLOW_TYPE ? promotionInterceptors() : {});
