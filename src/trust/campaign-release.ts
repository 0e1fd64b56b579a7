/**
 * A chart release's name, version and OCI namespace for a compromise campaign, taken only from
 * the plan its own authorize step sealed (the seal checked for that release's workflow and first
 * run). Its status is the run's to write, and anyone who can reach Temporal can start a run of
 * the chart release type that returns what they like: such a run must not tell the campaign
 * which OCI tag holds "the release". Only a plan for the archive the run recorded is used.
 */
import { CountersignError } from '../errors';
import { CHART_SEALS, type ChartReleasePlan } from '../helm/plan';
import type { SealKeyring } from '../seal/keyring';
import { checkSeal } from '../seal/seal';
import type { CampaignChartRelease } from './campaign-plan';

/** The run as visibility listed it: its id, chart target (`chart:<name>`) and archive digest. */
export interface ChartRun {
  promotionId: string;
  target: string;
  digest: string;
}

/** The release, or a note saying why the run's plan is not used. */
export function chartReleaseOf(keyring: SealKeyring, run: ChartRun, record: { firstRunId: string; plan?: ChartReleasePlan & { seal?: string } }): { release?: CampaignChartRelease; note?: string } {
  const where = `chart release ${run.promotionId.slice(0, 200)}`;
  if (!record.plan) return { note: `${where}: no plan in its history, so its chart name and version are unknown` };
  let plan: ChartReleasePlan;
  try {
    plan = checkSeal<ChartReleasePlan>(keyring, { kind: CHART_SEALS.plan, workflowId: run.promotionId, runId: record.firstRunId }, record.plan, 'chart release plan');
  } catch (err) {
    if (err instanceof CountersignError) return { note: err.message };
    throw err;
  }
  if (`chart:${plan.target}` !== run.target || `sha256:${plan.sha256}` !== run.digest) {
    return { note: `${where}: its sealed plan is for chart:${plan.target} sha256:${plan.sha256}, not ${run.target} ${run.digest}; not used` };
  }
  return { release: { name: plan.name, version: plan.version, ...(plan.publish.oci ? { oci: plan.publish.oci } : {}), releaseId: run.promotionId } };
}
