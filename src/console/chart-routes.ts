/**
 * The console's chart release pages: /charts/<id> (the evidence pack beside the gate and the
 * timeline), /charts/<id>/evidence.json and the event stream that reloads an open page. A chart
 * release id holds a "/" (chart-<target>/<name>-<version>-<16 hex>): links encode it as %2F.
 * Deciding (/charts/<id>/statement and /decide) is src/console/decisions.ts, shared with promotions.
 */
import type { FastifyInstance } from 'fastify';
import { readChartReleaseRecord, type ChartReleaseRecord } from '../client/chart-record';
import { CountersignError, hasCode } from '../errors';
import { CHART_RELEASE_ID } from '../helm/id';
import { assembleChartEvidencePack, chartEvidencePackDigest, type ChartEvidencePack } from '../evidence/chart-pack';
import { workflowUiLink } from '../temporal/ui-link';
import type { ConsoleMetrics } from './metrics';
import { chartEvidencePage, chartPendingPage } from './pages/chart-page';
import { decisionPart } from './pages/decision-form';
import { fingerprintOf, seenFrom, watch, type ConsoleDeps } from './server';


export function chartReleaseIdFrom(value: string): string {
  if (!CHART_RELEASE_ID.test(value)) throw new CountersignError('BAD_INPUT', `"${value.slice(0, 120)}" is not a chart release id (chart-<chart target>/<name>-<version>-<16 hex digits>)`);
  return value;
}

type ChartView = { pack: ChartEvidencePack; digest: string; record: ChartReleaseRecord } | { record: ChartReleaseRecord; why: string };

async function chartView(deps: ConsoleDeps, metrics: ConsoleMetrics, id: string): Promise<ChartView> {
  const record = await readChartReleaseRecord(deps.client, id);
  try {
    const pack = assembleChartEvidencePack(record);
    metrics.evidence('built');
    return { pack, digest: chartEvidencePackDigest(pack), record };
  } catch (err) {
    if (!hasCode(err, 'EVIDENCE_NOT_READY')) throw err;
    metrics.evidence('not_ready');
    return { record, why: (err as Error).message };
  }
}

/** What a chart release's page shows that can change: state, timeline, checks, votes, what was published. */
function chartFingerprint(record: ChartReleaseRecord): string {
  const { status } = record;
  return fingerprintOf([status.state, status.timeline, status.checks, status.approval.state, status.approval.votes, status.published ?? null, record.plan ? 1 : 0]);
}

export function registerChartRoutes(app: FastifyInstance, deps: ConsoleDeps, metrics: ConsoleMetrics): void {
  app.get<{ Params: { id: string } }>('/charts/:id', async (req, reply) => {
    const id = chartReleaseIdFrom(req.params.id);
    const view = await chartView(deps, metrics, id);
    const watchUrl = `/charts/${encodeURIComponent(id)}/events?seen=${chartFingerprint(view.record)}`;
    const temporalUi = deps.temporalUi ? workflowUiLink(deps.temporalUi.url, deps.temporalUi.namespace, id) : undefined;
    // Deciding is the same as on a promotion's page (src/console/decisions.ts): the workflow checks the passkey against the chart target's pinned roster.
    const decision = deps.access.rp ? decisionPart(`/charts/${encodeURIComponent(id)}`, view.record.status.state === 'AWAITING_APPROVAL', !deps.access.login) : undefined;
    const page =
      'pack' in view
        ? chartEvidencePage({ pack: view.pack, digest: view.digest, status: view.record.status, ...(temporalUi ? { temporalUi } : {}), ...(decision ? { decision } : {}) }, watchUrl)
        : chartPendingPage(view.record.status, view.why, watchUrl);
    return reply.type('text/html; charset=utf-8').send(page);
  });
  app.get<{ Params: { id: string } }>('/charts/:id/evidence.json', async (req, reply) => {
    const view = await chartView(deps, metrics, chartReleaseIdFrom(req.params.id));
    if (!('pack' in view)) throw new CountersignError('EVIDENCE_NOT_READY', view.why);
    return reply.send({ digest: view.digest, pack: view.pack });
  });
  app.get<{ Params: { id: string }; Querystring: { seen?: string } }>('/charts/:id/events', (req, reply) => {
    const id = chartReleaseIdFrom(req.params.id);
    return watch(reply, req.raw, metrics, seenFrom(req.query.seen), deps.watchMs, async () => chartFingerprint(await readChartReleaseRecord(deps.client, id)));
  });
}
