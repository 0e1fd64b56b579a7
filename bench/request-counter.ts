/**
 * Counts the requests a bench registry answered, from the registry's own request log: the access
 * log of distribution 2.8 (`"GET /v2/... HTTP/1.1" 200 ...`) or olareg's trace lines
 * (`msg=ServeHTTP ... method=GET url=/v2/... status=200`). The bench counts cosign's requests by
 * hand this way, on a registry of their own, and lists ours with BENCH_REQUEST_LOG; ours are
 * counted by the worker (countersign_registry_requests_total), so the registry the timed levels
 * run against writes no log.
 */
import fs from 'node:fs';

const DISTRIBUTION_ACCESS = /"([A-Z]+) (\/v2\/\S*) HTTP\/[\d.]+" \d{3} /;
// olareg quotes a URL with a query: url="/v2/...?digest=...".
const OLAREG_TRACE = /msg=ServeHTTP .*\bmethod=([A-Z]+) url="?(\/v2\/[^"\s]*)"? status=\d{3}/;

/** The method and path a registry's log line records an answered request with, if it is one. */
export function requestInLogLine(line: string): { method: string; path: string } | undefined {
  const m = DISTRIBUTION_ACCESS.exec(line) ?? OLAREG_TRACE.exec(line);
  return m ? { method: m[1], path: m[2] } : undefined;
}

export class RegistryRequestLog {
  private offset = 0;
  private counts: Record<string, number> = {};

  /**
   * `requestLog` (BENCH_REQUEST_LOG) names a file that gets every counted request as
   * "METHOD /path", for finding which step makes which request; emptied here, so an earlier
   * run's lines are never counted with this one's.
   */
  constructor(
    private readonly registryLog: string,
    private readonly requestLog?: string,
  ) {
    if (requestLog) fs.writeFileSync(requestLog, '');
  }

  /** From now on: what came before is not counted. */
  async reset(): Promise<void> {
    await this.read();
    this.counts = {};
  }

  /**
   * Requests by method since the last reset (or the start). A registry writes a request's line as
   * it answers, so the log is read until two reads 100 ms apart find nothing new.
   */
  async read(): Promise<Record<string, number>> {
    let size = fs.statSync(this.registryLog).size;
    for (let i = 0; i < 20; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const now = fs.statSync(this.registryLog).size;
      if (now === size) break;
      size = now;
    }
    const text = this.readFrom(this.offset, size);
    // A line still being written stays for the next read.
    const end = text.lastIndexOf('\n') + 1;
    this.offset += Buffer.byteLength(text.slice(0, end));
    const lines: string[] = [];
    for (const line of text.slice(0, end).split('\n')) {
      const request = requestInLogLine(line);
      if (!request) continue;
      this.counts[request.method] = (this.counts[request.method] ?? 0) + 1;
      lines.push(`${request.method} ${request.path}\n`);
    }
    if (this.requestLog && lines.length) fs.appendFileSync(this.requestLog, lines.join(''));
    return { ...this.counts };
  }

  private readFrom(start: number, end: number): string {
    if (end <= start) return '';
    const fd = fs.openSync(this.registryLog, 'r');
    try {
      const buffer = Buffer.alloc(end - start);
      const read = fs.readSync(fd, buffer, 0, buffer.length, start);
      return buffer.subarray(0, read).toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
  }
}
