/**
 * The first step of every chart release: the worker checks the initiator's signed chart start
 * request against its own configuration (the checks every start request gets, src/requests/
 * authorize.ts) and resolves the chart target into the plan the run pins. The caller names a chart
 * target and a chart; the keys, keyring, publish locations, approvers and staging are the worker's.
 */
import crypto from 'node:crypto';
import { pinApprovalPolicy } from '../approval/roster';
import { CountersignError } from '../errors';
import { checkPriorRuns, checkSignedRequest, realpathUnder, workerConfig, type AuthorizeDeps, type AuthorizeInput } from '../requests/authorize';
import { parseChartStartRequest } from '../requests/chart-start-request';
import { canonicalJson } from '../requests/statement';
import { chartReleaseWorkflowId } from './id';
import { pinCosignKey, pinPgpKey } from './pin-key';
import type { ChartReleasePlan } from './plan';

export async function authorizeChartRelease(deps: AuthorizeDeps, input: AuthorizeInput): Promise<ChartReleasePlan> {
  const config = workerConfig(deps);
  const now = (deps.now ?? (() => new Date()))();
  const request = checkSignedRequest(config, input, now, {
    noun: 'chart release',
    parse: parseChartStartRequest,
    targets: config.charts,
    unknownTarget: (name, known) => `no chart target "${name}" in the worker's configuration (charts: ${known.join(', ') || 'none'})`,
    workflowId: (r) => chartReleaseWorkflowId(r.target, r.name, r.version, r.sha256),
  });
  const chart = config.charts[request.target];
  const chartDir = realpathUnder(request.chartDir, chart.sources);
  if (!chartDir) {
    throw new CountersignError('SOURCE_NOT_ALLOWED', `${request.chartDir} is not under a source directory of chart target ${chart.name} (sources: ${chart.sources.join(', ')})`);
  }
  const digest = `sha256:${request.sha256}`;
  const rule = { allowed: chart.approval.reopen ?? [], name: chart.name, subject: 'chart target', runs: 'chart releases', setting: `charts.${chart.name}.approval.reopen` };
  const reopenedBy = await checkPriorRuns(deps, config, input, { nonce: request.nonce, digest }, rule, now);

  const signing = { pgp: await pinPgpKey(chart), ...(chart.cosign ? { cosign: await pinCosignKey(chart.cosign) } : {}) };
  const approval = await pinApprovalPolicy(chart.approval, chart.approvers, request.deadlineMs);
  const pinned = {
    target: chart.name,
    name: request.name,
    version: request.version,
    fileName: `${request.name}-${request.version}.tgz`,
    sha256: request.sha256,
    signing,
    publish: chart.publish,
    approval,
  };
  return {
    ...pinned,
    chartDir,
    // Seconds only, as Helm writes it; the OCI manifest of this run carries it on every retry.
    publish: { ...chart.publish, created: new Date(Math.floor(now.getTime() / 1000) * 1000).toISOString().replace(/\.000Z$/, 'Z') },
    initiator: request.initiator,
    policyDigest: `sha256:${crypto.createHash('sha256').update(canonicalJson(pinned)).digest('hex')}`,
    ...(reopenedBy ? { reopenedBy } : {}),
    configFile: config.file,
  };
}
