/**
 * The read-only waiting updates (waitForGate, waitForPlan, waitForCeremony, waitForAnswer): the
 * run answers with its status once it has got somewhere, so a client waits without polling. The
 * handler takes no input (arguments a caller adds are never read) and changes nothing.
 */
import type { UpdateDefinition } from '@temporalio/common';
import { condition, setHandler } from '@temporalio/workflow';

export function answerWhen<T>(update: UpdateDefinition<T, []>, ready: () => boolean, view: () => T): void {
  setHandler(update, async () => {
    await condition(ready);
    return view();
  });
}
