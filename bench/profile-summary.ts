/**
 * Where a worker's CPU went, from the V8 profiles `BENCH_CPU_PROF=<dir> npm run bench` leaves (one
 * per thread: the main thread runs activities, the SDK's workflow threads run the workflows): self
 * time by package (or countersign's own directory) and the top functions, per profile.
 *   BENCH_TOP=15 npx tsx bench/profile-summary.ts <dir>/*.cpuprofile
 */
import fs from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

/** node_modules/<pkg> (scoped too), countersign's top directory, node: internals, or V8's own entries. */
function owner(url: string, name: string): string {
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1];
  const own = /\/(src\/[^/]+|workflows|activities|workers|bench)\//.exec(url);
  if (own) return own[1];
  if (url.startsWith('node:')) return 'node internals';
  return url === '' ? `(${name || 'program'})` : url;
}

function summarise(file: string, top: number): void {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const groups = new Map<string, number>();
  const functions = new Map<string, number>();
  let total = 0;
  for (const [id, us] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    // Idle is time the thread waited, not CPU it used.
    if (functionName === '(idle)') continue;
    total += us;
    const o = owner(url, functionName);
    groups.set(o, (groups.get(o) ?? 0) + us);
    const where = url.replace(/^.*node_modules\//, '').replace(/^.*\/(src|workflows|activities|workers|bench)\//, '$1/');
    const f = `${functionName || '(anonymous)'} ${where}:${lineNumber + 1}`;
    functions.set(f, (functions.get(f) ?? 0) + us);
  }
  const pct = (us: number) => `${((100 * us) / total).toFixed(1)}%`;
  console.log(`\n== ${file}: ${(total / 1000).toFixed(0)} ms busy`);
  console.log('self time by owner:');
  for (const [o, us] of [...groups].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${pct(us).padStart(6)}  ${o}`);
  console.log('top functions (self time):');
  for (const [f, us] of [...functions].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${pct(us).padStart(6)}  ${f}`);
}

const files = process.argv.slice(2);
if (files.length === 0) throw new Error('usage: profile-summary.ts <file.cpuprofile>...');
for (const file of files) summarise(file, Number(process.env.BENCH_TOP ?? 15));
