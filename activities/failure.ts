import { ApplicationFailure } from '@temporalio/common';
import { CountersignError } from '../src/errors';

/**
 * Runs a library call and turns a CountersignError into an ApplicationFailure whose type is the
 * error code; whether Temporal retries is decided by the code alone.
 */
export async function asActivity<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof CountersignError) {
      throw ApplicationFailure.create({
        type: err.code,
        message: err.message,
        nonRetryable: !err.retryable,
        details: err.details ? [err.details] : undefined,
      });
    }
    throw err;
  }
}
