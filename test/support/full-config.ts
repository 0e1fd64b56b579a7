/** A countersign.yaml using every key the schema knows, and a folder holding the keys it names. */
import { generateKeyPairSync } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import YAML from 'yaml';

/** A config folder with keys/ holding the public keys the configs here name. */
export function configDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'countersign-schema-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(path.join(dir, 'keys'));
  mkdirSync(path.join(dir, 'app'));
  for (const name of ['developer', 'platform', 'index', 'alice', 'bob', 'carol', 'dave', 'erin', 'ci']) writeFileSync(path.join(dir, 'keys', `${name}.pub`), '-----BEGIN PUBLIC KEY-----\n');
  // A passkey's key is read and checked (ES256 only), so it is a real P-256 key.
  writeFileSync(path.join(dir, 'keys', 'frank-passkey.pem'), generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'pem', type: 'spki' }) as string);
  copyFileSync(path.join(__dirname, '..', 'vectors', 'sigstore-conformance', 'public-good-trusted-root.json'), path.join(dir, 'keys', 'trusted_root.json'));
  copyFileSync(path.join(__dirname, '..', 'vectors', 'sigstore-local', 'signing_config.json'), path.join(dir, 'keys', 'signing_config.json'));
  return dir;
}

/** Every key countersign.yaml accepts, the new ones (initiators, temporal, sources, refs, charts, ...) included. */
export const FULL_YAML = `
registry: 127.0.0.1:5000
keys:
  developer: { key: keys/developer.key, publicKey: keys/developer.pub, passwordEnv: DEV_PW }
  platform: { key: awskms:///alias/platform, publicKey: keys/platform.pub, passwordEnv: PLATFORM_PW }
approvers:
  alice: { publicKey: keys/alice.pub, identities: [alice@acme.com], signingKeys: [keys/developer.pub] }
  bob: { publicKey: keys/bob.pub }
  carol: { publicKey: keys/carol.pub }
  dave: { publicKey: keys/dave.pub }
  erin: { publicKey: keys/erin.pub }
  frank: { passkeys: [{ id: cHJldGVuZC1jcmVkZW50aWFs, publicKey: keys/frank-passkey.pem, name: YubiKey 5C }] }
console:
  origin: https://countersign.acme.com
initiators:
  ci: { publicKey: keys/ci.pub, targets: [production, staging, charts] }
  alice: { targets: ["*"] }
temporal:
  address: temporal.internal:7233
  namespace: countersign
  tls: { ca: tls/ca.pem, cert: tls/worker.pem, key: tls/worker.key, serverName: temporal.internal }
metrics:
  listen: 0.0.0.0:9464
verificationSummary:
  verifierId: https://verify.acme.example/countersign/v1
notify:
  consoleUrl: https://countersign.acme.com
seal:
  keyFile: secrets/seal.key
  previousKeyFiles: [secrets/seal-2026.key]
trust:
  platform:
    kind: cosign
    publishDir: trust/public
    stateFile: trust/private/platform.json
    keyDir: trust/private/keys
    passwordEnv: COUNTERSIGN_PLATFORM_KEY_PASSWORD
    kms: { endpoint: "kms.eu-west-1.amazonaws.com", aliasPrefix: countersign-platform }
    governance: [erin]
    custodians: { members: [alice, bob, carol], required: 2, deadline: 24h, webhook: https://hooks.example.com/ceremony, webhookFormat: json, reminderEvery: 8h, escalateAfter: 2, escalation: { name: governance, members: [erin] } }
    overlap: 7d
    revocation: { required: 2, disableKmsKey: true }
    index: { key: awskms:///alias/countersign-index, publicKey: keys/index.pub, expires: 14d }
    root: { threshold: 1, expires: 365d }
    campaign: { action: quarantine, targets: { production: resign }, onVerifyFailure: report, perMinute: 10, approvers: { members: [alice, bob], required: 2, deadline: 12h } }
  helm:
    kind: openpgp
    publishDir: trust/public
    stateFile: trust/private/helm.json
    userId: { name: Acme Charts, email: charts@acme.com }
    index: { key: awskms:///alias/countersign-index, publicKey: keys/index.pub, expires: 14d }
    governance: [erin, dave]
    custodians: { members: [alice, bob, carol], required: 2 }
targets:
  production:
    repository: apps/hello
    releaseTag: prod
    signatureFormat: both
    admission: kyverno
    sources: [app]
    keyless:
      trustedRoot: keys/trusted_root.json
      identities:
        - { subject: https://github.com/acme/hello/.github/workflows/release.yml@refs/heads/main, issuer: https://token.actions.githubusercontent.com }
        - { subjectRegExp: 'https://github\\.com/acme/hello/\\.github/workflows/hotfix\\.yml@refs/heads/.*', issuerRegExp: 'https://token\\.actions\\.githubusercontent\\.com' }
      require: { tlog: 1, sct: 1, timestamps: 1, rfc3161: 0 }
      sign:
        signingConfig: keys/signing_config.json
        identityToken:
          clientCredentials: { tokenUrl: https://token.acme.internal/oauth/token, clientId: countersign-worker, clientSecretEnv: SIGSTORE_CLIENT_SECRET, audience: sigstore }
    policy:
      sourceRepo: https://github.com/acme/hello
      builderIds: [https://countersign.dev/builders/local@v1]
      buildCommand: countersign build examples/hello
      requireCommit: true
      refs: [refs/heads/main, refs/tags/v*, release]
      commitPrefix: false
    approval:
      groups:
        platform: { members: [alice, bob], required: 1 }
        security: { members: [carol, dave] }
      vetoOnReject: true
      deadline: 72h
      reminderEvery: 24h
      escalateAfter: 2
      escalation: { name: managers, members: [erin] }
      webhook: https://hooks.example.com/countersign
      webhookFormat: slack
      reopen: [erin]
  staging:
    repository: registry.example.com/apps/hello
    policy:
      sourceRepo: https://github.com/acme/hello
      builderIds: [b1, b2]
    approval: { approvers: [alice, bob], required: 1, deadline: 1h30m }
    keyless:
      trustedRoot: keys/trusted_root.json
      identities: [{ subject: https://github.com/acme/hello/.github/workflows/release.yml@refs/heads/main, issuer: https://token.actions.githubusercontent.com }]
      sign: { signingConfig: keys/signing_config.json, identityToken: { file: /var/run/secrets/tokens/sigstore } }
    keys:
      developer: { key: keys/developer.key, publicKey: keys/developer.pub, passwordEnv: DEV_PW }
      platform: { key: keys/platform.key, publicKey: keys/platform.pub }
  canary:
    repository: apps/hello-canary
    policy: { sourceRepo: https://github.com/acme/hello, builderIds: [b1] }
    approval: { approvers: [carol] }
    keys:
      platform: { trust: platform }
charts:
  charts:
    sources: [app]
    signing: { key: keys/charts.asc, keyring: keys/charts.gpg, passphraseEnv: PGP_PW }
    cosign: { key: keys/platform.key, publicKey: keys/platform.pub, passwordEnv: PLATFORM_PW }
    publish: { repositoryDir: charts-repo, repositoryUrl: https://charts.acme.com, oci: charts }
    approval:
      groups:
        platform: { members: [alice, bob], required: 1 }
      vetoOnReject: true
      deadline: 24h
      reminderEvery: 8h
      escalateAfter: 1
      escalation: { name: managers, members: [erin] }
      webhook: https://hooks.example.com/charts
      webhookFormat: teams
      reopen: [erin]
  charts-ceremony:
    sources: [app]
    signing: { trust: helm }
    publish: { oci: registry.example.com/charts }
    approval: { approvers: [alice, bob], required: 1 }
`;

export const full = () => YAML.parse(FULL_YAML) as Record<string, any>;
