/**
 * Finds the external tools installed by scripts/toolchain.sh. Lookup order for each tool:
 * its env var, then `$COUNTERSIGN_CACHE/tools.env` (written by the script), then the script's
 * known install paths, then PATH.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CountersignError } from '../errors';

export type ToolName =
  | 'temporal'
  | 'docker-registry'
  | 'cosign'
  | 'cosign-v2'
  | 'moto_server'
  | 'helm'
  | 'helm-legacy'
  | 'gpg'
  // Used by tests only: a KMS API server, a registry with the Referrers API, the Dockerfile linter.
  | 'local-kms'
  | 'olareg'
  | 'hadolint'
  // The verifiers customers run: SLSA verification summaries, and the admission controllers' CLIs.
  | 'slsa-verifier'
  | 'policy-tester'
  | 'kyverno'
  // Debian packages the tests run: the Prometheus server and its rule checker, compose v1.
  | 'prometheus'
  | 'promtool'
  | 'docker-compose'
  // PyPI kubernetes-validate: the Helm chart's manifests against the Kubernetes API schemas it bundles.
  | 'kubernetes-validate'
  // The self-hosted Sigstore for keyless signing (src/stack/sigstore.ts).
  | 'fulcio'
  | 'rekor-server'
  | 'timestamp-server'
  // The approval console's browser tests drive Debian's chromium.
  | 'chromium';

/** Pins must match scripts/toolchain.sh. */
export const TOOL_PINS = {
  temporalBin: '1.9.1',
  temporalGo: 'v1.5.1',
  cosign: 'v3.1.2',
  /** cosign v2 (2.6.3+ asks --trusted-root for bundles), to prove the legacy format is what v2 users verify. */
  cosignV2: 'v2.6.4',
  moto: '5.2.5',
  helm: 'v3.21.4',
  /** The older Helm on golang.org/x/crypto/openpgp, for provenance interop. */
  helmLegacy: 'v3.18.6',
  localKms: 'v0.0.0-20231025161602-e4d9425700fe',
  olareg: 'v0.1.2',
  slsaVerifier: 'v2.7.1',
  /** sigstore policy-controller's cmd/tester, built from the module (replace directives block go install). */
  policyController: 'v0.13.1',
  /** The Kyverno CLI (cmd/cli/kubectl-kyverno), built from the module likewise. */
  kyverno: 'v1.19.1',
  fulcio: 'v1.8.8',
  /** Rekor v2; its POSIX (filesystem) server. */
  rekorTiles: 'v2.3.0',
  timestampAuthority: 'v2.1.3',
} as const;

export const TOOL_ENV_VARS: Record<ToolName, string> = {
  temporal: 'TEMPORAL_CLI_PATH',
  'docker-registry': 'DOCKER_REGISTRY_PATH',
  cosign: 'COSIGN_PATH',
  'cosign-v2': 'COSIGN_V2_PATH',
  moto_server: 'MOTO_SERVER_PATH',
  helm: 'HELM_PATH',
  'helm-legacy': 'HELM_LEGACY_PATH',
  gpg: 'GPG_PATH',
  'local-kms': 'LOCAL_KMS_PATH',
  olareg: 'OLAREG_PATH',
  hadolint: 'HADOLINT_PATH',
  'slsa-verifier': 'SLSA_VERIFIER_PATH',
  'policy-tester': 'POLICY_TESTER_PATH',
  kyverno: 'KYVERNO_PATH',
  prometheus: 'PROMETHEUS_PATH',
  promtool: 'PROMTOOL_PATH',
  'docker-compose': 'DOCKER_COMPOSE_PATH',
  'kubernetes-validate': 'KUBERNETES_VALIDATE_PATH',
  fulcio: 'FULCIO_PATH',
  'rekor-server': 'REKOR_SERVER_PATH',
  'timestamp-server': 'TIMESTAMP_SERVER_PATH',
  chromium: 'CHROMIUM_PATH',
};

/** The cache the toolchain script installs into: `${COUNTERSIGN_CACHE:-$HOME/.cache/countersign}`. */
export function toolCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.COUNTERSIGN_CACHE;
  if (fromEnv !== undefined && fromEnv !== '') return path.resolve(fromEnv);
  return path.join(env.HOME || os.homedir(), '.cache', 'countersign');
}

function knownPaths(name: ToolName, cache: string): string[] {
  switch (name) {
    case 'temporal':
      return [path.join(cache, 'venv', 'bin', 'temporal'), path.join(cache, 'tools', `temporal-${TOOL_PINS.temporalGo}`, 'temporal')];
    case 'docker-registry':
      return ['/usr/bin/docker-registry'];
    case 'cosign':
      return [path.join(cache, 'tools', `cosign-${TOOL_PINS.cosign}`, 'cosign')];
    case 'cosign-v2':
      return [path.join(cache, 'tools', `cosign-${TOOL_PINS.cosignV2}`, 'cosign')];
    case 'moto_server':
      return [path.join(cache, 'venv', 'bin', 'moto_server')];
    case 'helm':
      return [path.join(cache, 'tools', `helm-${TOOL_PINS.helm}`, 'helm')];
    case 'helm-legacy':
      return [path.join(cache, 'tools', `helm-${TOOL_PINS.helmLegacy}`, 'helm')];
    case 'gpg':
      return ['/usr/bin/gpg'];
    case 'local-kms':
      return [path.join(cache, 'tools', `local-kms-${TOOL_PINS.localKms}`, 'local-kms')];
    case 'olareg':
      return [path.join(cache, 'tools', `olareg-${TOOL_PINS.olareg}`, 'olareg')];
    case 'hadolint':
      return [path.join(cache, 'venv', 'bin', 'hadolint')];
    case 'slsa-verifier':
      return [path.join(cache, 'tools', `slsa-verifier-${TOOL_PINS.slsaVerifier}`, 'slsa-verifier')];
    case 'policy-tester':
      return [path.join(cache, 'tools', `policy-tester-${TOOL_PINS.policyController}`, 'policy-tester')];
    case 'kyverno':
      return [path.join(cache, 'tools', `kyverno-${TOOL_PINS.kyverno}`, 'kyverno')];
    case 'prometheus':
      return ['/usr/bin/prometheus'];
    case 'promtool':
      return ['/usr/bin/promtool'];
    case 'docker-compose':
      return ['/usr/bin/docker-compose'];
    case 'kubernetes-validate':
      return [path.join(cache, 'venv', 'bin', 'kubernetes-validate')];
    case 'fulcio':
      return [path.join(cache, 'tools', `fulcio-${TOOL_PINS.fulcio}`, 'fulcio')];
    case 'rekor-server':
      return [path.join(cache, 'tools', `rekor-tiles-${TOOL_PINS.rekorTiles}`, 'rekor-server')];
    case 'timestamp-server':
      return [path.join(cache, 'tools', `timestamp-authority-${TOOL_PINS.timestampAuthority}`, 'timestamp-server')];
    case 'chromium':
      return ['/usr/bin/chromium'];
  }
}

/** Tools whose pinned build is never replaced by whatever PATH has under the same name. */
const PINNED_ONLY = new Set<ToolName>(['helm-legacy', 'local-kms', 'olareg', 'fulcio', 'rekor-server', 'timestamp-server']);

function isExecutableFile(file: string): boolean {
  try {
    if (!fs.statSync(file).isFile()) return false;
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Parses KEY=VALUE lines (optional `export `, quotes, # comments). Missing file: empty map. */
export function readToolsEnv(file: string): Map<string, string> {
  const out = new Map<string, string>();
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return out;
  }
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m) continue;
    let value = m[2]!.trim();
    if (value.length >= 2 && ((value.startsWith("'") && value.endsWith("'")) || (value.startsWith('"') && value.endsWith('"')))) {
      value = value.slice(1, -1);
    }
    out.set(m[1]!, value);
  }
  return out;
}

function searchPath(command: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, command);
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

/**
 * The path of `name`, or undefined when it is not installed. An env var that is set wins outright:
 * if it does not name an executable file the tool counts as missing (requireTool says why).
 */
export function locateTool(name: ToolName, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const varName = TOOL_ENV_VARS[name];
  const explicit = env[varName];
  if (explicit !== undefined && explicit !== '') return isExecutableFile(explicit) ? path.resolve(explicit) : undefined;

  const cache = toolCacheDir(env);
  const recorded = readToolsEnv(path.join(cache, 'tools.env')).get(varName);
  if (recorded !== undefined && recorded !== '' && isExecutableFile(recorded)) return recorded;

  for (const candidate of knownPaths(name, cache)) {
    if (isExecutableFile(candidate)) return candidate;
  }
  // A pinned build is never whatever PATH has under the same name.
  return PINNED_ONLY.has(name) ? undefined : searchPath(name, env);
}

/** Like locateTool, but throws TOOL_MISSING telling how to install it. */
export function requireTool(name: ToolName, env: NodeJS.ProcessEnv = process.env): string {
  const found = locateTool(name, env);
  if (found !== undefined) return found;
  const varName = TOOL_ENV_VARS[name];
  const explicit = env[varName];
  if (explicit !== undefined && explicit !== '') {
    throw new CountersignError('TOOL_MISSING', `${varName}=${explicit} is not an executable file; fix or unset it, or run \`npm run toolchain\``, {
      details: { tool: name, envVar: varName },
    });
  }
  const command = 'npm run toolchain';
  throw new CountersignError(
    'TOOL_MISSING',
    `${name} is not installed; run \`${command}\` (installs into ${toolCacheDir(env)}), or set ${varName}`,
    { details: { tool: name, envVar: varName, cache: toolCacheDir(env) } },
  );
}
