import { CountersignError } from '../errors';
import { FileSigner } from './file-signer';
import type { Signer } from './signer';

/**
 * Opens the signer a key reference names. The passphrase is read from the named environment
 * variable here, at the last moment, so it never travels through workflow inputs or history.
 */
export async function loadSigner(ref: string, passwordEnv: string, env: NodeJS.ProcessEnv = process.env): Promise<Signer> {
  if (ref.startsWith('awskms://')) {
    throw new CountersignError('KEY_INVALID', `${ref}: AWS KMS keys are not supported by this build yet; use a cosign key file`);
  }
  const path = ref.replace(/^file:\/\//, '');
  const password = env[passwordEnv];
  if (password === undefined) {
    throw new CountersignError('KEY_PASSPHRASE_MISSING', `the passphrase for ${path} is read from $${passwordEnv}, which is not set in the worker's environment`);
  }
  return FileSigner.load(path, password);
}
