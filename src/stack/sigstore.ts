/**
 * A self-hosted Sigstore on loopback for keyless signing (docs/keyless.md): the local OIDC issuer
 * (in this process), Fulcio with an ephemeral CA, Rekor v2 (rekor-tiles) storing its tiles under
 * rootDir, and the timestamp authority with an in-memory signer, each the pinned build
 * scripts/toolchain.sh installs. It writes the trusted root and the signing config for them.
 */
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { CountersignError } from '../errors';
import { startOidcIssuer, type OidcIdentity, type RunningOidcIssuer } from './oidc-issuer';
import { freePort, portFree } from './ports';
import { ServiceProcess } from './service';
import { localSigningConfig, localTrustedRoot, splitPemCertificates } from './sigstore-trust';
import { requireTool } from './tools';

export interface SigstoreStackOptions {
  /** Holds the Rekor key and tiles, the services' logs and the two files; created when missing. */
  rootDir: string;
  /** Who the issuer's tokens name. */
  identity: OidcIdentity;
  /** How long each service may take to answer (default 30 s: the first start of a Go binary on a busy machine). */
  startTimeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

export interface SigstoreStack {
  rootDir: string;
  issuer: RunningOidcIssuer;
  fulcioUrl: string;
  rekorUrl: string;
  tsaUrl: string;
  /** rootDir/trusted_root.json */
  trustedRootFile: string;
  /** rootDir/signing_config.json */
  signingConfigFile: string;
  stop(): Promise<void>;
}

/** timestamp-server v2.1.3 serves its metrics on :2112 on every interface, with no flag to move it. */
export const TSA_METRICS_PORT = 2112;
/** How long a start waits for another Sigstore's timestamp authority to let go of that port. */
export const DEFAULT_TSA_PORT_WAIT_MS = 5 * 60_000;

export async function startSigstoreStack(options: SigstoreStackOptions): Promise<SigstoreStack> {
  const env = options.env ?? process.env;
  const tools = { fulcio: requireTool('fulcio', env), rekor: requireTool('rekor-server', env), tsa: requireTool('timestamp-server', env) };
  const root = path.resolve(options.rootDir);
  fs.mkdirSync(root, { recursive: true, mode: 0o700 });
  const timeoutMs = options.startTimeoutMs ?? 30_000;
  const started: Array<{ stop(): Promise<void> }> = [];
  const stopAll = async () => {
    for (const s of started.reverse()) await s.stop().catch(() => undefined);
  };
  try {
    const issuer = await startOidcIssuer({ identity: options.identity });
    started.push(issuer);
    const fulcio = await startFulcio(tools.fulcio, root, issuer.url, timeoutMs);
    started.push(fulcio.proc);
    const rekor = await startRekor(tools.rekor, root, timeoutMs);
    started.push(rekor.proc);
    const tsa = await startTsa(tools.tsa, root, timeoutMs);
    started.push(tsa.proc);

    const material = {
      fulcioUrl: fulcio.url,
      fulcioChain: fulcio.chain,
      rekorUrl: rekor.url,
      rekorPublicKeyPem: rekor.publicKeyPem,
      rekorStart: rekor.start,
      tsaUrl: tsa.url,
      tsaChain: tsa.chain,
      oidcIssuerUrl: issuer.url,
    };
    const trustedRootFile = path.join(root, 'trusted_root.json');
    const signingConfigFile = path.join(root, 'signing_config.json');
    fs.writeFileSync(trustedRootFile, `${JSON.stringify(localTrustedRoot(material), null, 2)}\n`);
    fs.writeFileSync(signingConfigFile, `${JSON.stringify(localSigningConfig(material, rekor.start), null, 2)}\n`);
    return { rootDir: root, issuer, fulcioUrl: fulcio.url, rekorUrl: rekor.url, tsaUrl: tsa.url, trustedRootFile, signingConfigFile, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

async function get(url: string): Promise<{ status: number; text: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
  return { status: res.status, text: await res.text() };
}

async function startFulcio(executable: string, root: string, issuerUrl: string, timeoutMs: number) {
  const [port, grpcPort, metricsPort] = [await freePort(), await freePort(), await freePort()];
  const configFile = path.join(root, 'fulcio.yaml');
  // Fulcio's GitHub-workflow issuer type: certificates carry the token's repository, ref and commit.
  fs.writeFileSync(configFile, stringify({ 'oidc-issuers': { [issuerUrl]: { 'issuer-url': issuerUrl, 'client-id': 'sigstore', type: 'github-workflow' } } }));
  const proc = await ServiceProcess.start({
    name: 'fulcio',
    command: executable,
    args: [
      'serve',
      `--config-path=${configFile}`,
      '--ca=ephemeralca',
      // No CT log runs here, so no SCTs (docs/keyless.md).
      '--ct-log-url=',
      '--host=127.0.0.1',
      `--port=${port}`,
      '--grpc-host=127.0.0.1',
      `--grpc-port=${grpcPort}`,
      `--metrics-port=${metricsPort}`,
      // The default is one abstract socket per machine: two Fulcios would collide.
      `--legacy-unix-domain-socket=${path.join(root, 'fulcio-legacy.sock')}`,
      '--log_type=prod',
    ],
    cwd: root,
    logFile: path.join(root, 'fulcio.log'),
  });
  const url = `http://127.0.0.1:${port}`;
  let chain: string[] = [];
  await proc.waitUntilReady(
    async () => {
      const res = await get(`${url}/api/v2/trustBundle`);
      if (res.status !== 200) return false;
      chain = (JSON.parse(res.text) as { chains: Array<{ certificates: string[] }> }).chains[0]?.certificates ?? [];
      return chain.length > 0;
    },
    { timeoutMs, intervalMs: 100, what: `GET ${url}/api/v2/trustBundle` },
  );
  return { proc, url, chain };
}

async function startRekor(executable: string, root: string, timeoutMs: number) {
  const [port, grpcPort, metricsPort] = [await freePort(), await freePort(), await freePort()];
  const keyFile = path.join(root, 'rekor-key.pem');
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  fs.writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  const storage = path.join(root, 'rekor-tiles');
  fs.rmSync(storage, { recursive: true, force: true });
  fs.mkdirSync(storage, { recursive: true });
  const start = new Date(Date.now() - 60_000);
  const proc = await ServiceProcess.start({
    name: 'rekor-server',
    command: executable,
    args: [
      'serve',
      '--http-address=127.0.0.1',
      `--http-port=${port}`,
      '--grpc-address=127.0.0.1',
      `--grpc-port=${grpcPort}`,
      `--http-metrics-port=${metricsPort}`,
      // The checkpoint's origin: sigstore-go takes it to be the host of the log's URL.
      '--hostname=127.0.0.1',
      `--storage-dir=${storage}`,
      `--signer-filepath=${keyFile}`,
      '--checkpoint-interval=1s',
      '--batch-max-age=100ms',
    ],
    cwd: root,
    logFile: path.join(root, 'rekor.log'),
  });
  const url = `http://127.0.0.1:${port}`;
  await proc.waitUntilReady(async () => (await get(`${url}/healthz`)).status === 200, { timeoutMs, intervalMs: 100, what: `GET ${url}/healthz` });
  return { proc, url, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(), start };
}

async function startTsa(executable: string, root: string, timeoutMs: number) {
  // Another self-hosted Sigstore (a second test file, say) holds the metrics port for as long as it
  // runs: wait for it, and start again when two starts raced for the port.
  const deadline = Date.now() + DEFAULT_TSA_PORT_WAIT_MS;
  for (;;) {
    // Where the timestamp authority binds: every interface.
    while (!(await portFree(TSA_METRICS_PORT))) {
      if (Date.now() > deadline) {
        throw new CountersignError(
          'STACK_ERROR',
          `timestamp-server always serves its metrics on port ${TSA_METRICS_PORT}, and something else has held it for ${DEFAULT_TSA_PORT_WAIT_MS / 1000} s (another self-hosted Sigstore?): stop it first`,
        );
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    try {
      return await startTsaOnce(executable, root, timeoutMs);
    } catch (err) {
      const lostRace = err instanceof CountersignError && /address already in use/i.test(String(err.details?.logTail ?? err.message));
      if (!lostRace || Date.now() > deadline) throw err;
    }
  }
}

async function startTsaOnce(executable: string, root: string, timeoutMs: number) {
  const port = await freePort();
  const proc = await ServiceProcess.start({
    name: 'timestamp-server',
    command: executable,
    args: ['serve', '--host=127.0.0.1', `--port=${port}`, '--timestamp-signer=memory', '--disable-ntp-monitoring', '--log-type=prod'],
    cwd: root,
    logFile: path.join(root, 'timestamp-server.log'),
  });
  const url = `http://127.0.0.1:${port}`;
  let chain: string[] = [];
  await proc.waitUntilReady(
    async () => {
      const res = await get(`${url}/api/v1/timestamp/certchain`);
      chain = res.status === 200 ? splitPemCertificates(res.text) : [];
      return chain.length > 0;
    },
    { timeoutMs, intervalMs: 100, what: `GET ${url}/api/v1/timestamp/certchain` },
  );
  return { proc, url, chain };
}

