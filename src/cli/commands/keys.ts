import path from 'node:path';
import { CountersignError } from '../../errors';
import { writeKeyPair } from '../../keys/file-signer';
import { keyFingerprint } from '../../keys/public-key';
import { readPassphrase } from '../../keys/passphrase';
import fs from 'node:fs/promises';
import { EXIT, printJson, write, type Command } from '../command';

export const DEFAULT_KEY_PASSWORD_ENV = 'COSIGN_PASSWORD';

export const keysGenerateCommand: Command = {
  name: 'keys generate',
  summary: 'write a cosign-format encrypted ECDSA P-256 key pair (<prefix>.key, <prefix>.pub)',
  usage: 'countersign keys generate [--output-dir DIR] [--prefix NAME] [--password-env VAR] [--force]',
  options: {
    'output-dir': { type: 'string', short: 'o' },
    prefix: { type: 'string' },
    'password-env': { type: 'string' },
    force: { type: 'boolean' },
  },
  optionHelp: {
    'output-dir': 'where to write the files (default: current directory)',
    prefix: 'file name prefix (default "cosign", as cosign generate-key-pair)',
    'password-env': `environment variable holding the passphrase (default ${DEFAULT_KEY_PASSWORD_ENV}); prompted on a terminal when unset`,
    force: 'overwrite existing files',
  },
  details: 'The passphrase is never taken from a flag and never logged. cosign signs with these keys as they are.',
  async run(args, io) {
    const dir = path.resolve((args.values['output-dir'] as string | undefined) ?? '.');
    const prefix = (args.values.prefix as string | undefined) ?? 'cosign';
    const envVar = (args.values['password-env'] as string | undefined) ?? DEFAULT_KEY_PASSWORD_ENV;
    const password = await readPassphrase({ envVar, confirm: true, output: io.stderr, env: io.env });
    if (password === '' && !io.env.COUNTERSIGN_ALLOW_EMPTY_PASSPHRASE) {
      throw new CountersignError('BAD_INPUT', `the passphrase in ${envVar} is empty; set COUNTERSIGN_ALLOW_EMPTY_PASSPHRASE=1 if you really want an unprotected key`);
    }
    const written = await writeKeyPair(dir, prefix, password, { force: Boolean(args.values.force) });
    const fingerprint = keyFingerprint(await fs.readFile(written.publicKeyPath, 'utf8'));
    if (args.values.json) printJson(io, { ...written, fingerprint });
    else write(io.stdout, `private key: ${written.privateKeyPath}\npublic key:  ${written.publicKeyPath}\nfingerprint: ${fingerprint}`);
    return EXIT.ok;
  },
};
