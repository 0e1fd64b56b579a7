/**
 * `countersign dev sigstore`: the self-hosted Sigstore in the foreground (docs/keyless.md), for
 * trying keyless signing on one machine. It writes the trusted root, the signing config, the
 * OIDC client's secret (0600) and a target's keyless: section to paste, then runs until stopped.
 */
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { CountersignError } from '../../errors';
import { githubWorkflowIdentity, githubWorkflowSubject } from '../../stack/oidc-issuer';
import { startSigstoreStack } from '../../stack/sigstore';
import { EXIT, printJson, write, type Command } from '../command';

/** The variable the pasted keyless: section reads the OIDC client's secret from. */
export const SIGSTORE_CLIENT_SECRET_ENV = 'COUNTERSIGN_SIGSTORE_CLIENT_SECRET';

export const devSigstoreCommand: Command = {
  name: 'dev sigstore',
  summary: 'run a self-hosted Sigstore (OIDC issuer, Fulcio, Rekor v2, timestamp authority) on loopback until stopped',
  usage: 'countersign dev sigstore --dir DIR --repository OWNER/NAME --commit SHA [--ref REF]',
  options: { dir: { type: 'string' }, repository: { type: 'string' }, commit: { type: 'string' }, ref: { type: 'string' } },
  optionHelp: {
    dir: 'where the trusted root, signing config, client secret and keyless.yaml are written (and Rekor keeps its tiles)',
    repository: 'the GitHub-style repository the issuer\'s tokens name (owner/name)',
    commit: 'the commit the tokens name: what the certificates say was built',
    ref: 'the git ref the tokens name (default refs/heads/main)',
  },
  details:
    'The issuer mints tokens like GitHub Actions\' for .github/workflows/release.yml of the repository at the ref and commit, so certificates carry them as GitHub\'s do. Stop with Ctrl-C. Needs `bash scripts/toolchain.sh sigstore`. Only for trying things out: anyone who can reach the issuer on this machine with the client secret gets a certificate.',
  async run(args, io) {
    const dir = args.values.dir as string | undefined;
    const repository = args.values.repository as string | undefined;
    const commit = args.values.commit as string | undefined;
    const ref = (args.values.ref as string | undefined) ?? 'refs/heads/main';
    if (!dir) throw new CountersignError('BAD_INPUT', '--dir is required');
    if (!repository || !/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(repository)) throw new CountersignError('BAD_INPUT', '--repository must be owner/name');
    if (!commit || !/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(commit)) throw new CountersignError('BAD_INPUT', '--commit must be a full hex commit id (40 or 64 digits, lower case)');
    if (!/^refs\/(heads|tags)\/\S+$/.test(ref)) throw new CountersignError('BAD_INPUT', '--ref must be refs/heads/NAME or refs/tags/NAME');
    const root = path.resolve(dir);
    const identity = githubWorkflowIdentity({ repository, ref, sha: commit });
    const stack = await startSigstoreStack({ rootDir: root, identity, env: io.env });
    const stopped = new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    try {
      const secretFile = path.join(root, 'oidc-client-secret');
      fs.writeFileSync(secretFile, `${stack.issuer.clientSecret}\n`, { mode: 0o600 });
      const subject = githubWorkflowSubject(identity);
      const keyless = {
        keyless: {
          trustedRoot: stack.trustedRootFile,
          identities: [{ subject, issuer: stack.issuer.url }],
          require: { tlog: 1, sct: 0, timestamps: 1, rfc3161: 1 },
          sign: {
            signingConfig: stack.signingConfigFile,
            identityToken: { clientCredentials: { tokenUrl: stack.issuer.tokenUrl, clientId: stack.issuer.clientId, clientSecretEnv: SIGSTORE_CLIENT_SECRET_ENV } },
          },
        },
      };
      const keylessFile = path.join(root, 'keyless.yaml');
      fs.writeFileSync(keylessFile, YAML.stringify(keyless));
      const up = {
        oidcIssuer: stack.issuer.url,
        tokenUrl: stack.issuer.tokenUrl,
        fulcio: stack.fulcioUrl,
        rekor: stack.rekorUrl,
        timestampAuthority: stack.tsaUrl,
        trustedRoot: stack.trustedRootFile,
        signingConfig: stack.signingConfigFile,
        clientSecretFile: secretFile,
        keylessSection: keylessFile,
        certificateIdentity: subject,
      };
      if (args.values.json) printJson(io, up);
      else {
        write(
          io.stdout,
          [
            'self-hosted Sigstore is up (Ctrl-C stops it)',
            `oidc issuer:   ${up.oidcIssuer}`,
            `fulcio:        ${up.fulcio}`,
            `rekor v2:      ${up.rekor}`,
            `timestamps:    ${up.timestampAuthority}`,
            `trusted root:  ${up.trustedRoot}`,
            `signing conf:  ${up.signingConfig}`,
            `keyless: section for a target: ${keylessFile} (the worker reads the client secret from $${SIGSTORE_CLIENT_SECRET_ENV}: ${secretFile})`,
            `certificates will name ${subject}`,
          ].join('\n'),
        );
      }
      await stopped;
    } finally {
      await stack.stop();
    }
    return EXIT.ok;
  },
};
