/**
 * Workflow id of a chart release: the chart target, then the chart's name, version and content, so
 * a repeated trigger finds the running release and two chart targets never share an id (target
 * names cannot hold "/", chart names neither). No I/O.
 */
export function chartReleaseWorkflowId(target: string, name: string, version: string, sha256: string): string {
  return `chart-${target}/${name}-${version}-${sha256.slice(0, 16)}`;
}
