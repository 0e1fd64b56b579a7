import type { KeyTrust } from '../promotion/plan';
import { readIndex } from './index-file';
import { assertMaySign } from './validity';

/** Re-reads the key's status in the published index; KEY_REVOKED / KEY_RETIRED when it may not sign (non-retryable). */
export async function assertTrustAllowsSigning(trust: KeyTrust | undefined): Promise<void> {
  if (!trust) return;
  const index = await readIndex(trust.publishDir);
  assertMaySign(index.keys.find((k) => k.id === trust.keyId), trust.keyId);
}
