import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Logger } from 'pino';
import { CountersignError } from '../src/errors';

/**
 * Runs a library call as an activity step: logs its outcome (never its secrets) and turns a
 * CountersignError into an ApplicationFailure whose type is the error code, so whether
 * Temporal retries is decided by the code alone.
 */
export async function asActivity<T>(log: Logger | undefined, fn: () => Promise<T>): Promise<T> {
  const info = Context.current().info;
  const step = info.activityType;
  const fields = { step, workflowId: info.workflowExecution?.workflowId, attempt: info.attempt };
  const started = Date.now();
  try {
    const result = await fn();
    log?.info({ ...fields, ms: Date.now() - started }, `${step} done`);
    return result;
  } catch (err) {
    if (err instanceof CountersignError) {
      log?.warn({ ...fields, code: err.code, retryable: err.retryable, ms: Date.now() - started }, err.message);
      throw ApplicationFailure.create({
        type: err.code,
        message: err.message,
        nonRetryable: !err.retryable,
        details: err.details ? [err.details] : undefined,
      });
    }
    log?.error({ ...fields, err, ms: Date.now() - started }, `${step} failed unexpectedly`);
    throw err;
  }
}
