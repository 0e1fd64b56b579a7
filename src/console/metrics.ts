/**
 * The approval console's own Prometheus metrics (docs/operations.md), on a registry of its own:
 * requests by route template (never the raw path, so a caller's URLs cannot mint series), open
 * event streams, evidence packs built by outcome, and the runs the last waiting-list read found.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

export type EvidenceOutcome = 'built' | 'not_ready' | 'failed';

export class ConsoleMetrics {
  readonly registry = new Registry();
  private readonly requests = new Counter({ name: 'countersign_console_requests_total', help: 'Console HTTP requests, by route template and status class', labelNames: ['route', 'status'] as const, registers: [this.registry] });
  private readonly streams = new Gauge({ name: 'countersign_console_event_streams', help: 'Event streams open (pages waiting to reload)', registers: [this.registry] });
  private readonly packs = new Counter({ name: 'countersign_console_evidence_packs_total', help: 'Evidence packs assembled, by outcome', labelNames: ['outcome'] as const, registers: [this.registry] });
  private readonly waiting = new Gauge({ name: 'countersign_console_waiting_runs', help: 'Runs waiting at an approval gate when the waiting list was last read', registers: [this.registry] });

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'countersign_console_' });
  }

  /** `route` is the matched route's template ("/promotions/:id"), or "unmatched". */
  request(route: string | undefined, statusCode: number): void {
    this.requests.inc({ route: route ?? 'unmatched', status: `${Math.floor(statusCode / 100)}xx` });
  }

  streamOpened(): void {
    this.streams.inc();
  }

  streamClosed(): void {
    this.streams.dec();
  }

  evidence(outcome: EvidenceOutcome): void {
    this.packs.inc({ outcome });
  }

  waitingRuns(count: number): void {
    this.waiting.set(count);
  }
}
