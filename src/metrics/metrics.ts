/**
 * countersign's own Prometheus metrics (docs/operations.md lists each). Label values come only
 * from what the worker decided (a target its configuration names, a state or code from a fixed
 * set, a key fingerprint it pinned), never from text a caller wrote: anyone who can start a
 * workflow could otherwise mint one time series per request and exhaust the scraper.
 */
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Seconds: a gate is open for minutes to days. */
export const DEFAULT_GATE_BUCKETS = [1, 10, 60, 300, 900, 3600, 4 * 3600, 12 * 3600, 86400, 3 * 86400, 7 * 86400];
/** Seconds: a step takes milliseconds (authorize) to many minutes (a KMS outage waited out). */
export const DEFAULT_STEP_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900];

/** The value a label takes when what was observed is not something the worker knows by name. */
export const UNRESOLVED = 'unresolved';
export const OTHER = 'OTHER';

/** Error and check codes are SHOUTING_SNAKE words from a fixed set; anything else is OTHER. */
export function codeLabel(code: unknown): string {
  return typeof code === 'string' && /^[A-Z][A-Z0-9_]{0,63}$/.test(code) ? code : OTHER;
}

/** Activity types are camelCase identifiers registered by the worker. */
export function stepLabel(step: unknown): string {
  return typeof step === 'string' && /^[A-Za-z][A-Za-z0-9]{0,63}$/.test(step) ? step : OTHER;
}

/** Key fingerprints are hex (sha256 of the public key). */
export function fingerprintLabel(fingerprint: unknown): string {
  return typeof fingerprint === 'string' && /^[0-9a-f]{16,128}$/.test(fingerprint) ? fingerprint : OTHER;
}

const FINAL_STATES = new Set(['PROMOTED', 'REJECTED', 'EXPIRED', 'FAILED', 'REFUSED']);
const HTTP_METHODS = new Set(['GET', 'HEAD', 'PUT', 'POST', 'PATCH', 'DELETE']);

export interface MetricsOptions {
  /** Target names the worker's configuration holds now; a target outside it is labelled "unresolved". */
  knownTargets?: () => Iterable<string>;
  /** Node process metrics (CPU, memory, event loop) from prom-client; on in the worker. */
  processMetrics?: boolean;
}

export class CountersignMetrics {
  readonly registry = new Registry();
  private readonly started: Counter<'target'>;
  private readonly ended: Counter<'target' | 'state'>;
  private readonly gateWait: Histogram<'target' | 'outcome'>;
  private readonly stepDuration: Histogram<'step' | 'outcome'>;
  private readonly stepFailures: Counter<'step' | 'code'>;
  private readonly signatures: Counter<'role' | 'fingerprint'>;
  private readonly refusals: Counter<'code'>;
  private readonly registryRequests: Counter<'method'>;

  constructor(private readonly options: MetricsOptions = {}) {
    const registers = [this.registry];
    this.started = new Counter({ name: 'countersign_promotions_started_total', help: 'Promotions whose start request the worker accepted, by target.', labelNames: ['target'], registers });
    this.ended = new Counter({ name: 'countersign_promotions_ended_total', help: 'Promotions that reached a final state, by target and state.', labelNames: ['target', 'state'], registers });
    this.gateWait = new Histogram({
      name: 'countersign_approval_wait_seconds',
      help: 'Time a promotion spent at the approval gate, by target and how the gate closed.',
      labelNames: ['target', 'outcome'],
      buckets: DEFAULT_GATE_BUCKETS,
      registers,
    });
    this.stepDuration = new Histogram({
      name: 'countersign_step_duration_seconds',
      help: 'Duration of one attempt of a step (activity), by step and outcome.',
      labelNames: ['step', 'outcome'],
      buckets: DEFAULT_STEP_BUCKETS,
      registers,
    });
    this.stepFailures = new Counter({ name: 'countersign_step_failures_total', help: 'Failed step attempts, by step and error code.', labelNames: ['step', 'code'], registers });
    this.signatures = new Counter({ name: 'countersign_signatures_total', help: 'Signatures the worker wrote, by role (developer, production) and key fingerprint.', labelNames: ['role', 'fingerprint'], registers });
    this.refusals = new Counter({ name: 'countersign_verification_refusals_total', help: 'Failed checks in platform verification, by code.', labelNames: ['code'], registers });
    this.registryRequests = new Counter({ name: 'countersign_registry_requests_total', help: 'HTTP requests the worker sent to registries, by method.', labelNames: ['method'], registers });
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'countersign_' });
  }

  private target(name: unknown): string {
    if (typeof name !== 'string') return UNRESOLVED;
    for (const known of this.options.knownTargets?.() ?? []) if (known === name) return name;
    return UNRESOLVED;
  }

  promotionStarted(target: unknown): void {
    this.started.inc({ target: this.target(target) });
  }

  promotionEnded(target: unknown, state: unknown): void {
    this.ended.inc({ target: this.target(target), state: typeof state === 'string' && FINAL_STATES.has(state) ? state : OTHER });
  }

  gateClosed(target: unknown, outcome: unknown, seconds: number): void {
    if (!Number.isFinite(seconds) || seconds < 0) return;
    const label = typeof outcome === 'string' && ['succeeded', 'rejected', 'expired', 'failed'].includes(outcome) ? outcome : OTHER;
    this.gateWait.observe({ target: this.target(target), outcome: label }, seconds);
  }

  stepEnded(step: unknown, seconds: number, failureCode?: string): void {
    const labels = { step: stepLabel(step) };
    this.stepDuration.observe({ ...labels, outcome: failureCode === undefined ? 'ok' : 'failed' }, Math.max(0, seconds));
    if (failureCode !== undefined) this.stepFailures.inc({ ...labels, code: codeLabel(failureCode) });
  }

  signed(role: 'developer' | 'production' | 'chart', fingerprint: unknown): void {
    this.signatures.inc({ role, fingerprint: fingerprintLabel(fingerprint) });
  }

  verificationRefused(code: unknown): void {
    this.refusals.inc({ code: codeLabel(code) });
  }

  registryRequest(method: unknown): void {
    this.registryRequests.inc({ method: typeof method === 'string' && HTTP_METHODS.has(method) ? method : OTHER });
  }

  /** The text exposition format (version 0.0.4). */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}
