/**
 * Quarantine of a released image: its release tag stops naming it. A registry that deletes tags
 * (OCI 1.1) removes the tag; one that cannot (distribution 2.8) gets the tag pointed at a
 * quarantine notice instead: an empty OCI artifact whose annotations say which digest was pulled,
 * by which campaign, and why. The image stays by digest, for examination; nothing signs it again.
 */
import { jsonBlob } from '../oci/digest';
import type { Store } from '../oci/store';
import { MEDIA_TYPE } from '../oci/types';
import type { QuarantineResult } from './campaign-plan';

export const QUARANTINE_ARTIFACT_TYPE = 'application/vnd.countersign.quarantine.v1+json';
export const QUARANTINE_ANNOTATIONS = {
  digest: 'dev.countersign.quarantine.digest',
  reason: 'dev.countersign.quarantine.reason',
  campaign: 'dev.countersign.quarantine.campaign',
  key: 'dev.countersign.quarantine.key',
} as const;

export interface QuarantineWhy {
  reason: string;
  campaignId: string;
  keyId: string;
}

/** Takes `tag` off `digest` in `path`; idempotent (a tag already moved or already a notice for it is left). */
export async function quarantineRelease(store: Store, path: string, tag: string, digest: string, why: QuarantineWhy): Promise<QuarantineResult> {
  const reference = `${store.location}/${path}:${tag}`;
  const current = await store.getManifest(path, tag);
  if (!current) return { tag: 'absent', reference };
  if (current.digest !== digest) return { tag: noticeFor(current.data) === digest ? 'notice' : 'elsewhere', reference };
  if (store.deleteTag && (await store.deleteTag(path, tag))) return { tag: 'deleted', reference };
  const empty = jsonBlob({}, MEDIA_TYPE.emptyJson);
  await store.putBlob(path, empty);
  const notice = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPE.imageManifest,
    artifactType: QUARANTINE_ARTIFACT_TYPE,
    config: empty.descriptor,
    layers: [empty.descriptor],
    annotations: {
      [QUARANTINE_ANNOTATIONS.digest]: digest,
      [QUARANTINE_ANNOTATIONS.reason]: why.reason.slice(0, 1024),
      [QUARANTINE_ANNOTATIONS.campaign]: why.campaignId,
      [QUARANTINE_ANNOTATIONS.key]: why.keyId,
      'org.opencontainers.image.description': `quarantined: ${digest} was signed by compromised key ${why.keyId} (${why.campaignId})`,
    },
  };
  await store.putManifest(path, tag, Buffer.from(JSON.stringify(notice)), MEDIA_TYPE.imageManifest);
  return { tag: 'notice', reference };
}

/** The digest a quarantine notice names, when `data` is one. */
export function noticeFor(data: Buffer): string | undefined {
  try {
    const m = JSON.parse(data.toString('utf8')) as { artifactType?: unknown; annotations?: Record<string, unknown> };
    const digest = m.artifactType === QUARANTINE_ARTIFACT_TYPE ? m.annotations?.[QUARANTINE_ANNOTATIONS.digest] : undefined;
    return typeof digest === 'string' ? digest : undefined;
  } catch {
    return undefined;
  }
}
