import { Context, heartbeat } from '@temporalio/activity';
import type { Logger } from 'pino';
import { CountersignError } from '../src/errors';
import { authorizeChartRelease } from '../src/helm/authorize';
import { checkApprovalRecord } from '../src/approval/record-check';
import { CHART_SEALS, type ChartPlanInRun, type ChartReleasePlan, type SealedChartPlan } from '../src/helm/plan';
import type { SealKeyring } from '../src/seal/keyring';
import type { Sealed } from '../src/seal/seal';
import { sealing } from './sealing';
import * as steps from '../src/helm/release';
import { runStagingDir, stagingRoot } from '../src/helm/staging';
import type { AuthorizeDeps, AuthorizeInput } from '../src/requests/authorize';
import { asActivity } from './failure';

export type { ChartReport, PackageReport, PublishOutcome, ReleaseCheck } from '../src/helm/release';

/** The staged file a step works on; where it is staged is the worker's business, not the caller's. */
export interface ChartFile {
  fileName: string;
  sha256: string;
}

/**
 * Chart release activities over src/helm/release; `deps` gives them the stores, the environment
 * (passphrases, the staging root) and the worker's configuration for the authorize step.
 */
export function createChartActivities(deps: steps.ChartStepDeps & { log?: Logger; authorize?: AuthorizeDeps; seal?: () => SealKeyring }) {
  const { log } = deps;
  // As for promotions (activities/promotion.ts): the seal is checked before anything is read or signed.
  const sealed = sealing(deps.seal);
  const openPlan = (run: ChartPlanInRun): ChartReleasePlan => sealed.openPlan(CHART_SEALS.plan, run, 'chart release plan');
  const fileOf = (plan: ChartReleasePlan): ChartFile => ({ fileName: plan.fileName, sha256: plan.sha256 });
  const root = stagingRoot(deps.env ?? process.env);
  // The run's own directory under the worker's staging root, from the activity's context: no
  // argument a workflow passes can point a step at another directory.
  const runDir = () => runStagingDir(root, Context.current().info.workflowExecution?.runId ?? '');
  const staged = (file: ChartFile): steps.StagedChart => ({ root, dir: runDir(), ...file });
  return {
    /** Checks the signed chart start request against the worker's configuration and resolves the plan the run pins. */
    async chartAuthorize(input: AuthorizeInput): Promise<SealedChartPlan> {
      return asActivity(log, async () => {
        if (!deps.authorize) throw new CountersignError('NO_WORKER_CONFIG', 'this worker has no configuration (set COUNTERSIGN_CONFIG for the worker): it starts nothing');
        const plan = await authorizeChartRelease(deps.authorize, input);
        return sealed.seal(CHART_SEALS.plan, input.runId, plan);
      });
    },

    async chartPackage(run: ChartPlanInRun): Promise<steps.PackageReport> {
      return asActivity(log, () => {
        const plan = openPlan(run);
        return steps.packageStep(plan.chartDir, staged(fileOf(plan)));
      });
    },

    /** Signs only over a sealed plan and votes that hold against its roster and quorum. */
    async chartSign(run: ChartPlanInRun, approval: { decisions?: unknown }): Promise<{ signedAt: string; bundle: boolean }> {
      return asActivity(log, () => {
        const plan = openPlan(run);
        checkApprovalRecord({ workflowId: sealed.ownWorkflowId(), runId: run.runId, plan: { ...plan, digest: `sha256:${plan.sha256}` } }, approval?.decisions);
        return steps.signStep(deps, staged(fileOf(plan)), plan.signing.pgp, plan.signing.cosign);
      });
    },

    /** The report is sealed: publishing acts only on a sealed passing one. */
    async chartVerify(run: ChartPlanInRun): Promise<Sealed<steps.ChartReport>> {
      return asActivity(log, async () => {
        const plan = openPlan(run);
        const report = await steps.verifyStep(staged(fileOf(plan)), plan.signing.pgp.keyringPath, plan.signing.cosign?.publicKeyPem);
        return sealed.seal(CHART_SEALS.report, run.runId, report);
      });
    },

    async chartPublish(run: ChartPlanInRun, report: Sealed<steps.ChartReport>): Promise<steps.PublishOutcome> {
      heartbeat('publishing');
      return asActivity(log, () => {
        const plan = openPlan(run);
        const verified = sealed.open(CHART_SEALS.report, run.runId, report, 'chart verification report');
        if (!verified.ok) throw new CountersignError('VERIFICATION_FAILED', `${plan.fileName} did not pass verification: refusing to publish`);
        return steps.publishStep(deps, staged(fileOf(plan)), plan.publish, plan.signing.cosign, plan.signing.pgp.trust);
      });
    },

    /** Removes whatever this run staged (archive, .prov, bundle), however the run ended. */
    async chartCleanup(): Promise<{ removed: string[] }> {
      return asActivity(log, () => steps.cleanupStep({ dir: runDir() }));
    },
  };
}

export type ChartActivities = ReturnType<typeof createChartActivities>;
