// TEMPORARY probe (not committed): level-1 promotions on olareg, each history's events with gaps.
import fs from 'node:fs/promises';
import path from 'node:path';
import { signAndDecide, waitForGate } from '../src/client/promotions';
import { BENCH_APPROVER, BENCH_FACTS, startBenchStack } from './support';

async function main() {
  const bench = await startBenchStack('probe', { bench: { repositoryPath: 'bench/app', signatureFormat: 'bundle' } }, { countRequests: true, registry: 'olareg' });
  try {
    const n = Number(process.env.N ?? 8);
    for (let i = 0; i < n; i++) {
      const src = path.join(bench.dir, 'src', String(i));
      await fs.mkdir(src, { recursive: true });
      await fs.writeFile(path.join(src, 'index.html'), `<h1>${i}</h1>\n`);
      const t0 = Date.now();
      const started = await bench.promote({ target: 'bench', source: { directory: src }, build: BENCH_FACTS });
      const t1 = Date.now();
      const status = await waitForGate(bench.client, started.promotionId, { pollMs: 200 });
      const t2 = Date.now();
      await signAndDecide(bench.client, started.promotionId, { approver: BENCH_APPROVER, decision: 'approve', signer: bench.approver, view: status.approval });
      const t3 = Date.now();
      await bench.client.workflow.getHandle(started.promotionId).result();
      const t4 = Date.now();
      const hist = await bench.client.workflow.getHandle(started.promotionId).fetchHistory();
      const evs = hist.events ?? [];
      const ms = (e: any) => Number(e.eventTime.seconds) * 1000 + Math.round(e.eventTime.nanos / 1e6);
      const first = ms(evs[0]);
      let prev = first;
      const line: string[] = [];
      for (const e of evs) {
        const t = ms(e);
        const type = String(e.eventType).replace('EVENT_TYPE_', '');
        if (t - prev >= 3) line.push(`+${t - prev}->${e.eventId}:${type}`);
        prev = t;
      }
      console.log(`run ${i}: client start ${t1 - t0} gate ${t2 - t1} decide ${t3 - t2} result ${t4 - t3} total ${t4 - t0}; history ${prev - first} ms; gaps: ${line.join(' ')}`);
    }
  } finally {
    await bench.close();
  }
}
main().catch((e) => { console.error(e); process.exit(1); });
