/** A run's final status read as its result: the history's long poll, which the server answers when the run closes. */
import type { Client } from '@temporalio/client';

/**
 * The run's result when it is a final status (`isFinal`), followed across continue-as-new; undefined
 * when it cannot be read so (an unknown id, a run ended without a result, a lost connection, a
 * result of another shape): the caller's status read then says which.
 */
export async function finalResult<S extends { state: string }>(client: Client, id: string, finalStates: readonly string[]): Promise<S | undefined> {
  try {
    const result = (await client.workflow.getHandle(id).result()) as S | undefined;
    return result && typeof result === 'object' && finalStates.includes(result.state) ? result : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Resolves once the run has closed, however it ended (its result's long poll answered or failed),
 * or once `timeoutMs` has passed: for a wait of hours (co-signers, a gate) that asks no worker
 * anything meanwhile. The caller then reads the status once, as it would have polled it.
 */
export async function untilRunCloses(client: Client, id: string, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
  const closed = client.workflow.getHandle(id).result().then(
    () => undefined,
    () => undefined,
  );
  try {
    await Promise.race([closed, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
