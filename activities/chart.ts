import { Context, heartbeat } from '@temporalio/activity';
import type { Logger } from 'pino';
import { CountersignError } from '../src/errors';
import { authorizeChartRelease } from '../src/helm/authorize';
import type { ChartPublishPlan, ChartReleasePlan, CosignKeyPin, PgpKeyPin } from '../src/helm/plan';
import * as steps from '../src/helm/release';
import { runStagingDir, stagingRoot } from '../src/helm/staging';
import type { AuthorizeDeps, AuthorizeInput } from '../src/requests/authorize';
import type { KeyTrust } from '../src/promotion/plan';
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
export function createChartActivities(deps: steps.ChartStepDeps & { log?: Logger; authorize?: AuthorizeDeps }) {
  const { log } = deps;
  const root = stagingRoot(deps.env ?? process.env);
  // The run's own directory under the worker's staging root, from the activity's context: no
  // argument a workflow passes can point a step at another directory.
  const runDir = () => runStagingDir(root, Context.current().info.workflowExecution?.runId ?? '');
  const staged = (file: ChartFile): steps.StagedChart => ({ root, dir: runDir(), ...file });
  return {
    /** Checks the signed chart start request against the worker's configuration and resolves the plan the run pins. */
    async chartAuthorize(input: AuthorizeInput): Promise<ChartReleasePlan> {
      return asActivity(log, () => {
        if (!deps.authorize) throw new CountersignError('NO_WORKER_CONFIG', 'this worker has no configuration (set COUNTERSIGN_CONFIG for the worker): it starts nothing');
        return authorizeChartRelease(deps.authorize, input);
      });
    },

    async chartPackage(chartDir: string, file: ChartFile): Promise<steps.PackageReport> {
      return asActivity(log, () => steps.packageStep(chartDir, staged(file)));
    },

    async chartSign(file: ChartFile, key: PgpKeyPin, cosign?: CosignKeyPin): Promise<{ signedAt: string; bundle: boolean }> {
      return asActivity(log, () => steps.signStep(deps, staged(file), key, cosign));
    },

    async chartVerify(file: ChartFile, keyringPath: string, cosignPublicKeyPem?: string): Promise<steps.ChartReport> {
      return asActivity(log, () => steps.verifyStep(staged(file), keyringPath, cosignPublicKeyPem));
    },

    async chartPublish(file: ChartFile, publish: ChartPublishPlan, cosign?: CosignKeyPin, signedBy?: KeyTrust): Promise<steps.PublishOutcome> {
      heartbeat('publishing');
      return asActivity(log, () => steps.publishStep(deps, staged(file), publish, cosign, signedBy));
    },

    /** Removes whatever this run staged (archive, .prov, bundle), however the run ended. */
    async chartCleanup(): Promise<{ removed: string[] }> {
      return asActivity(log, () => steps.cleanupStep({ dir: runDir() }));
    },
  };
}

export type ChartActivities = ReturnType<typeof createChartActivities>;
