/**
 * The first step of a compromise campaign: the worker checks the governance member's signed
 * campaign request against its own configuration, finds the (revoked) key among the named store's
 * keys, and resolves everything the campaign will act with: the store's active key, each target's
 * policy and developer key, the action per target, the rate and the approvers. Nothing of it comes
 * from the request or the workflow input.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config';
import { CountersignError } from '../errors';
import { keyFingerprint } from '../keys/public-key';
import { pinKey } from '../promotion/pin-keys';
import { campaignWorkflowId, CAMPAIGN_REQUEST_VALIDITY_MS, parseCampaignRequest } from '../requests/campaign-request';
import type { SignedStatement } from '../requests/statement';
import { campaignActionFor } from './campaign-config';
import type { CampaignChartTarget, CampaignPlan, CampaignTarget } from './campaign-plan';
import { pinCosignKey, pinStorePgpKey } from '../helm/pin-key';
import type { TrustConfig } from './config';
import { checkKeyRequest, type GovernanceDeps } from './governance';
import type { TrustKey } from './index-file';
import { pinTrustedKey } from './pin';
import { pinPeople } from './resolve';

export interface CampaignAuthorizeInput {
  request: SignedStatement;
  workflowId: string;
  runId: string;
}

export async function authorizeCampaign(deps: GovernanceDeps, input: CampaignAuthorizeInput): Promise<CampaignPlan> {
  const { config, request, store, location, key, requestDigest } = await checkKeyRequest(deps, input, {
    noun: 'campaign',
    parse: parseCampaignRequest,
    validityMs: CAMPAIGN_REQUEST_VALIDITY_MS,
    workflowId: campaignWorkflowId,
  });
  // Re-signing what a key signed while it still signs would be for nothing: revoke first.
  if (key.status !== 'revoked') {
    throw new CountersignError('REQUEST_INVALID', `key ${key.id} of trust store ${store.name} is ${key.status}, not revoked: revoke it first (countersign keys revoke ${key.id} --trust ${store.name} ...), then run the campaign`);
  }
  const signingKey = store.kind === 'cosign' ? await activeSigningKey(store, key) : await activeChartKey(store, key);
  return {
    trust: store.name,
    keyId: key.id,
    fingerprint: key.fingerprint,
    kind: key.kind,
    publicKeyPem: store.kind === 'cosign' ? await compromisedPublicKey(store, key) : '',
    reason: request.reason.trim(),
    requester: request.requester,
    requestedAt: request.time,
    requestDigest,
    ...(signingKey ? { signingKey } : {}),
    targets: store.kind === 'cosign' ? await storeTargets(config, store) : {},
    ...(store.kind === 'openpgp' ? { charts: await storeCharts(config, store) } : {}),
    onVerifyFailure: store.campaign.onVerifyFailure,
    perMinute: store.campaign.perMinute,
    windowMs: store.campaign.windowMs,
    itemsPerRun: store.campaign.itemsPerRun,
    approvers: { ...store.campaign.approval, roster: await pinPeople(config, [...new Set(store.campaign.approval.groups.flatMap((g) => g.members))], 'campaign approvers') },
    location,
    configFile: config.file,
  };
}

/** The store's active key, which re-signs; a campaign cannot run before the next key exists. */
async function activeSigningKey(store: TrustConfig, compromised: TrustKey): Promise<CampaignPlan['signingKey']> {
  const pin = await pinTrustedKey(store).catch((err: unknown) => {
    throw err instanceof CountersignError && err.code === 'TRUST_NO_ACTIVE_KEY'
      ? new CountersignError('TRUST_NO_ACTIVE_KEY', `trust store ${store.name} has no active key to re-sign with: run a key ceremony first (countersign keys ceremony --trust ${store.name}), then the campaign`)
      : err;
  });
  if (pin.fingerprint === compromised.fingerprint) throw new CountersignError('KEY_INVALID', `the active key of trust store ${store.name} is the compromised key ${compromised.id}`);
  return { id: pin.trust!.keyId, ref: pin.ref ?? '', passwordEnv: pin.passwordEnv, publicKeyPem: pin.publicKeyPem, fingerprint: pin.fingerprint, trust: pin.trust! };
}

/** An OpenPGP store's active key, which writes the new `.prov` files; as for images, a campaign waits for the next key. */
async function activeChartKey(store: TrustConfig, compromised: TrustKey): Promise<CampaignPlan['signingKey']> {
  const pin = await pinStorePgpKey(store).catch((err: unknown) => {
    throw err instanceof CountersignError && err.code === 'TRUST_NO_ACTIVE_KEY'
      ? new CountersignError('TRUST_NO_ACTIVE_KEY', `trust store ${store.name} has no active key to re-sign charts with: run a key ceremony first (countersign keys ceremony --trust ${store.name}), then the campaign`)
      : err;
  });
  if (pin.fingerprint === compromised.fingerprint.toUpperCase()) throw new CountersignError('KEY_INVALID', `the active key of trust store ${store.name} is the compromised key ${compromised.id}`);
  return { id: pin.trust.keyId, ref: pin.ref, passwordEnv: pin.passwordEnv, publicKeyPem: '', fingerprint: pin.fingerprint, trust: pin.trust, keyringPath: pin.keyringPath };
}

/**
 * Chart targets whose `.prov` this store's key signs, with where their releases were published and
 * the cosign key (if any) that signs their OCI manifests, pinned here as a release pins it.
 */
async function storeCharts(config: Config, store: TrustConfig): Promise<Record<string, CampaignChartTarget>> {
  const out: Record<string, CampaignChartTarget> = {};
  for (const c of Object.values(config.charts ?? {})) {
    if (!('trust' in c.signing) || c.signing.trust.name !== store.name) continue;
    const target = `chart:${c.name}`;
    out[target] = { target, chart: c.name, ...c.publish, ...(c.cosign ? { cosign: await pinCosignKey(c.cosign) } : {}), action: campaignActionFor(store.campaign, c.name) };
  }
  return out;
}

/** The revoked key's public key: kept in the index (its published file is a tombstone), or the file for older entries. */
async function compromisedPublicKey(store: TrustConfig, key: TrustKey): Promise<string> {
  const der = key.revocation?.publicKey;
  const pem = der
    ? `-----BEGIN PUBLIC KEY-----\n${der.match(/.{1,64}/g)!.join('\n')}\n-----END PUBLIC KEY-----\n`
    : await fs.readFile(path.join(store.publishDir, key.file), 'utf8').catch(() => '');
  let fingerprint = '';
  try {
    fingerprint = keyFingerprint(pem);
  } catch {
    // A tombstone or a missing file: no key to find its signatures with.
  }
  if (fingerprint !== key.fingerprint) throw new CountersignError('KEY_MISSING', `the index keeps no public key for ${key.id} and ${key.file} is not it: its signatures cannot be found`);
  return pem;
}

/** Targets that sign with this store's key, each with what a re-sign re-verifies against. */
async function storeTargets(config: Config, store: TrustConfig): Promise<Record<string, CampaignTarget>> {
  const out: Record<string, CampaignTarget> = {};
  for (const t of Object.values(config.targets)) {
    if (t.keys.platform.trust?.name !== store.name) continue;
    const developer = await pinKey(t.keys.developer, 'developer');
    out[t.name] = {
      target: t.name,
      repository: t.repository,
      releaseTag: t.releaseTag,
      signatureFormat: t.signatureFormat,
      policy: t.policy,
      developer: { publicKeyPem: developer.publicKeyPem, fingerprint: developer.fingerprint, ...(developer.trust ? { trust: developer.trust } : {}) },
      action: campaignActionFor(store.campaign, t.name),
    };
  }
  return out;
}
