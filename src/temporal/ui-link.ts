/**
 * Links to a workflow in the Temporal Web UI, for people reading `status`. The UI's address is the
 * reader's own setting (TEMPORAL_UI_URL, or the dev stack's UI), never something a workflow says.
 */
import { CountersignError } from '../errors';

export const TEMPORAL_UI_ENV = 'TEMPORAL_UI_URL';

/** TEMPORAL_UI_URL when set (http or https, no query), else the dev stack's UI when it runs one, else none. */
export function temporalUiUrl(env: NodeJS.ProcessEnv, devStackUi?: string): string | undefined {
  const raw = env[TEMPORAL_UI_ENV]?.trim();
  if (raw) {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new CountersignError('BAD_INPUT', `${TEMPORAL_UI_ENV}: "${raw}" is not a URL (e.g. http://127.0.0.1:8080)`);
    }
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.search || url.hash || url.username || url.password) {
      throw new CountersignError('BAD_INPUT', `${TEMPORAL_UI_ENV}: "${raw}" must be an http(s) URL without credentials, query or fragment`);
    }
    return url.href.replace(/\/+$/, '');
  }
  return devStackUi?.replace(/\/+$/, '') || undefined;
}

/** The UI page of one run (its history), or of the workflow id's latest run when runId is unknown. */
export function workflowUiLink(ui: string, namespace: string, workflowId: string, runId?: string): string {
  const base = `${ui}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
  return runId ? `${base}/${encodeURIComponent(runId)}/history` : base;
}
