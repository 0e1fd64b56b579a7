import { heartbeat } from '@temporalio/activity';
import type { Logger } from 'pino';
import * as steps from '../src/helm/release';
import type { KeyTrust } from '../workflows/promotion-messages';
import { asActivity } from './failure';

export type { ChartReport, PublishOutcome, PublishTargets, StagedChart, PgpKeyRef } from '../src/helm/release';

/** Chart release activities over src/helm/release; `deps` gives them the stores and environment. */
export function createChartActivities(deps: steps.ChartStepDeps & { log?: Logger }) {
  const { log } = deps;
  return {
    async chartPackage(chartDir: string, staged: steps.StagedChart): Promise<{ files: number }> {
      return asActivity(log, () => steps.packageStep(chartDir, staged));
    },

    async chartSign(staged: steps.StagedChart, key: steps.PgpKeyRef, cosign?: steps.CosignKeyRef): Promise<{ signedAt: string; bundle: boolean }> {
      return asActivity(log, () => steps.signStep(deps, staged, key, cosign));
    },

    async chartVerify(staged: steps.StagedChart, keyringPath: string, cosignPublicKeyPem?: string): Promise<steps.ChartReport> {
      return asActivity(log, () => steps.verifyStep(staged, keyringPath, cosignPublicKeyPem));
    },

    async chartPublish(staged: steps.StagedChart, targets: steps.PublishTargets, signedBy?: KeyTrust): Promise<steps.PublishOutcome> {
      heartbeat('publishing');
      return asActivity(log, () => steps.publishStep(deps, staged, targets, signedBy));
    },
  };
}

export type ChartActivities = ReturnType<typeof createChartActivities>;
