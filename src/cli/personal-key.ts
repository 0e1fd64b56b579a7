/**
 * Who is at the keyboard, and the key they sign with: approvers sign decisions, governance
 * members sign ceremony requests, each with the key the roster holds for them.
 */
import os from 'node:os';
import { CountersignError } from '../errors';
import { FileSigner } from '../keys/file-signer';
import { readPassphrase } from '../keys/passphrase';
import type { CommandIo, ParsedArgs } from './command';

export const APPROVER_KEY_PASSWORD_ENV = 'COUNTERSIGN_APPROVER_KEY_PASSWORD';

/** --key and --password-env, as every command that signs with a person's key takes them. */
export const PERSONAL_KEY_OPTIONS = { key: { type: 'string' as const, short: 'k' }, 'password-env': { type: 'string' as const } };

export function personalKeyHelp(purpose: string): Record<'key' | 'password-env', string> {
  return {
    key: `your cosign-format private key (your roster key; default $COUNTERSIGN_APPROVER_KEY): it signs ${purpose}`,
    'password-env': `environment variable holding its passphrase (default ${APPROVER_KEY_PASSWORD_ENV}); prompted on a terminal when unset`,
  };
}

/** --as, else $COUNTERSIGN_APPROVER, else the login name. */
export function whoIsSigning(args: ParsedArgs, io: CommandIo): string {
  return (args.values.as as string | undefined) ?? io.env.COUNTERSIGN_APPROVER ?? io.env.USER ?? os.userInfo().username;
}

/** Opens `who`'s own key (--key or $COUNTERSIGN_APPROVER_KEY), passphrase from the environment or a prompt. */
export async function personalSigner(args: ParsedArgs, io: CommandIo, who: string, purpose: string): Promise<FileSigner> {
  const keyFile = (args.values.key as string | undefined) ?? io.env.COUNTERSIGN_APPROVER_KEY;
  if (!keyFile) throw new CountersignError('BAD_INPUT', `--key is required: the private key ${who} signs ${purpose} with (or set COUNTERSIGN_APPROVER_KEY)`);
  const envVar = (args.values['password-env'] as string | undefined) ?? APPROVER_KEY_PASSWORD_ENV;
  const password = await readPassphrase({ envVar, output: io.stderr, env: io.env, prompt: `Passphrase for ${keyFile}: ` });
  return FileSigner.load(keyFile, password);
}
