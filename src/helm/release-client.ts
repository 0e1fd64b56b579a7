/**
 * Starting and following chart releases from a Temporal client. The chart is packaged here first
 * (deterministically) so the release pins its sha256; the OpenPGP key's fingerprint is pinned from
 * the published keyring; private keys stay on the worker, named by reference. Decisions go
 * through the approval gate like a promotion's: `signAndDecide` in src/client/promotions.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { Client, WorkflowIdConflictPolicy, WorkflowNotFoundError } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import { DIGEST_KEY, PLATFORM_KEY_KEY, STATE_KEY, TARGET_KEY } from '../client/promotions';
import { CountersignError } from '../errors';
import { TASK_QUEUE } from '../../workflows/promotion-messages';
import {
  CHART_RELEASE_WORKFLOW_TYPE,
  CHART_TERMINAL_STATES,
  chartReleaseId,
  chartStatusQuery,
  type ChartReleaseInput,
  type ChartReleaseStatus,
} from '../../workflows/chart-release-messages';
import { packageChart } from './package';
import { readKeyring } from './pgp-key';
import type { ApprovalPolicy } from '../../workflows/approval-messages';
import type { KeyTrust } from '../promotion/plan';

export interface ChartReleaseRequest {
  chartDir: string;
  stagingDir: string;
  /** With `trust`, the key is a trust store's: revoked or retired, it signs and publishes nothing. */
  pgpKey: { ref: string; passwordEnv: string; trust?: KeyTrust };
  keyringPath: string;
  publish: Omit<ChartReleaseInput['publish'], 'created' | 'cosign'> & {
    cosign?: { ref: string; passwordEnv: string; publicKeyPath: string };
    created?: string;
  };
  /** Approval policy with the roster pinned (`pinRoster`), as for an image promotion. */
  approval: ApprovalPolicy;
  initiator: string;
}

/** Starts the release (or attaches to the running one for the same chart, version and content). */
export async function startChartRelease(client: Client, request: ChartReleaseRequest): Promise<{ releaseId: string; attached: boolean; input: ChartReleaseInput }> {
  if (!request.publish.repositoryDir && !request.publish.oci) throw new CountersignError('BAD_INPUT', 'give a chart repository directory, an OCI registry, or both, to publish to');
  if (request.approval.groups.length === 0) throw new CountersignError('BAD_INPUT', 'a chart release needs an approval group');
  const pkg = await packageChart(request.chartDir);
  const keys = await readKeyring(await fsp.readFile(request.keyringPath), request.keyringPath);
  if (keys.length !== 1) throw new CountersignError('KEYRING_INVALID', `${request.keyringPath} holds ${keys.length} keys; a release pins exactly one signing key`);
  const cosign = request.publish.cosign
    ? { ref: path.resolve(request.publish.cosign.ref), passwordEnv: request.publish.cosign.passwordEnv, publicKeyPem: await fsp.readFile(request.publish.cosign.publicKeyPath, 'utf8') }
    : undefined;
  const input: ChartReleaseInput = {
    chartDir: path.resolve(request.chartDir),
    stagingDir: path.resolve(request.stagingDir, `${pkg.metadata.name}-${pkg.metadata.version}-${pkg.sha256.slice(0, 16)}`),
    name: pkg.metadata.name,
    version: pkg.metadata.version,
    fileName: pkg.fileName,
    sha256: pkg.sha256,
    pgpKey: { ref: path.resolve(request.pgpKey.ref), passwordEnv: request.pgpKey.passwordEnv, fingerprint: keys[0]!.getFingerprint().toUpperCase(), trust: request.pgpKey.trust },
    keyringPath: path.resolve(request.keyringPath),
    publish: {
      repositoryDir: request.publish.repositoryDir && path.resolve(request.publish.repositoryDir),
      repositoryUrl: request.publish.repositoryUrl,
      oci: request.publish.oci,
      cosign,
      created: request.publish.created ?? new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    },
    approval: request.approval,
    initiator: request.initiator,
  };
  const releaseId = chartReleaseId(input.name, input.version, input.sha256);
  const before = await client.workflow.getHandle(releaseId).describe().catch(() => undefined);
  const handle = await client.workflow.start(CHART_RELEASE_WORKFLOW_TYPE, {
    taskQueue: TASK_QUEUE,
    workflowId: releaseId,
    args: [input],
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    // The same search attributes as promotions, so `countersign list` shows releases too.
    typedSearchAttributes: new TypedSearchAttributes([
      { key: STATE_KEY, value: 'PACKAGING' },
      { key: TARGET_KEY, value: `chart:${input.name}` },
      { key: DIGEST_KEY, value: `sha256:${input.sha256}` },
      // The OpenPGP key it signs with: revocation lists the release, and retirement waits for it.
      { key: PLATFORM_KEY_KEY, value: input.pgpKey.fingerprint },
    ]),
  });
  const attached = before?.status.name === 'RUNNING' && before.runId === handle.firstExecutionRunId;
  return { releaseId, attached, input };
}

/** Current status of a release, running or finished. */
export async function getChartReleaseStatus(client: Client, id: string): Promise<ChartReleaseStatus> {
  const handle = client.workflow.getHandle(id);
  let description;
  try {
    description = await handle.describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new CountersignError('UNKNOWN_PROMOTION', `no chart release with id "${id}"`);
    throw err;
  }
  if (description.type !== CHART_RELEASE_WORKFLOW_TYPE) throw new CountersignError('UNKNOWN_PROMOTION', `${id} is not a chart release`);
  if (description.status.name === 'COMPLETED') return (await handle.result()) as ChartReleaseStatus;
  return handle.query(chartStatusQuery);
}

/** Polls until the release ends or `until` holds. */
export async function waitForChartRelease(client: Client, id: string, options: { until?: (s: ChartReleaseStatus) => boolean; onUpdate?: (s: ChartReleaseStatus) => void; pollMs?: number } = {}): Promise<ChartReleaseStatus> {
  for (;;) {
    const status = await getChartReleaseStatus(client, id);
    options.onUpdate?.(status);
    if (CHART_TERMINAL_STATES.includes(status.state) || options.until?.(status)) return status;
    await new Promise((r) => setTimeout(r, options.pollMs ?? 250));
  }
}
