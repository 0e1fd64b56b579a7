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
