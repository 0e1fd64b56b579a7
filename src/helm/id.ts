/**
 * Workflow id of a chart release: the chart target, then the chart's name, version and content, so
 * a repeated trigger finds the running release and two chart targets never share an id (target
 * names cannot hold "/", chart names neither). No I/O.
 */
export function chartReleaseWorkflowId(target: string, name: string, version: string, sha256: string): string {
  return `chart-${target}/${name}-${version}-${sha256.slice(0, 16)}`;
}

/** What chartReleaseWorkflowId makes: chart target names are config names; chart names and versions Helm's. */
export const CHART_RELEASE_ID = /^chart-[a-z0-9][a-z0-9-]{0,62}\/[A-Za-z0-9._+-]{1,300}-[0-9a-f]{16}$/;
