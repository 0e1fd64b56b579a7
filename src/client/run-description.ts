/** A workflow id's run, as the server describes it, for callers that must tell "no such id" from the rest. */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';

/** The run's description, or undefined when there is no workflow with this id (running or closed). */
export async function describeOrUndefined(client: Client, workflowId: string) {
  try {
    return await client.workflow.getHandle(workflowId).describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}
