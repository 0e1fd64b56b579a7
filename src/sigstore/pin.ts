/**
 * A target's keyless trust as a run pins it: the trusted root's text (not its path), the
 * identities and the requirements. A configuration edit, or a root file replaced on disk, never
 * changes what an in-flight promotion accepts. No node imports: the workflow carries it.
 */
import type { KeylessIdentity } from './identity';
import type { KeylessRequirements } from './keyless';
import type { KeylessSignPin } from './sign-config';

export interface KeylessPin {
  /** The trusted_root.json text the run verifies against. */
  trustedRoot: string;
  /** sha256 of that text, for reports. */
  trustedRootDigest: string;
  identities: KeylessIdentity[];
  require: KeylessRequirements;
  /** Set when the worker signs this target's directory builds keyless. */
  sign?: KeylessSignPin;
}
