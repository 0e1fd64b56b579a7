/**
 * `npm run bench`, as docs/benchmarks.md prints it, runs at a tiny size and prints ours beside
 * both yardsticks (the floor workflow and the by-hand cosign flow) with registry requests and CPU
 * per process, and the request log holds that run's requests only. No timing is asserted (the
 * machine is shared): the figures go in the docs.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { runBenchAsPrinted } from '../support/bench-command';

/** Runs `command` as docs/benchmarks.md prints it, at one promotion per yardstick; returns what it printed. */
function runAsPrinted(command: string, env: Record<string, string> = {}): { out: string; row(first: string): string | undefined } {
  // No warm-up unless a test asks for one: a tiny run proves the bench works, not how fast.
  const out = runBenchAsPrinted(command, { BENCH_LEVELS: '1', BENCH_SERIAL: '1', BENCH_BY_HAND: '1', BENCH_WARMUP: '0', ...env });
  return { out, row: (first) => out.split('\n').find((l) => l.startsWith(`| ${first} |`)) };
}

test('npm run bench runs as printed and reports ours, the floor and by hand with requests and CPU', { timeout: 15 * 60_000 }, () => {
  const { out, row } = runAsPrinted('npm run bench');
  assert.match(out, /^registry: distribution 2\.8 \(no Referrers API\); signature format: legacy; 10 repositories$/m);

  const level = row('1');
  assert.ok(level, out);
  const cells = level.split('|').map((c) => c.trim());
  // promotions/s "ours / floor", then its ratio, p50 "ours / floor ms", ratio, p95, requests per promotion.
  const [oursRate, floorRate] = cells[3].split(' / ').map(Number);
  assert.ok(oursRate > 0 && floorRate > 0, level);
  assert.ok(Number(cells[4]) > 0 && Number(cells[6]) > 0, level);
  // A promotion pushes an image, its signatures and attestations: the registry's log must hold them.
  assert.ok(Number(cells[8]) >= 10, `registry requests per promotion: ${level}`);

  const cpu = out.split('\n').filter((l) => l.startsWith('| 1 |'))[1];
  assert.ok(cpu, out);
  const [ours, floor] = cpu.split('|').slice(2, 4);
  for (const proc of ['worker', 'server', 'registry', 'client']) assert.match(ours, new RegExp(`${proc} \\d+`), cpu);
  assert.match(floor, /floorWorker \d+/, cpu);

  // Both runs as the server saw them (first event to last), beside the client's p50.
  const spans = /^level 1, first event to last in the run's history .*: p50 ours (\d+) ms, floor (\d+) ms .*; fastest ours (\d+) ms, floor (\d+) ms/m.exec(out);
  assert.ok(spans, out);
  assert.ok(spans.slice(1).every((ms) => Number(ms) > 0), spans[0]);

  // Where the level-1 runs' time went, from their histories, ours beside the floor: ours runs its
  // steps inside workflow tasks (every step is local since LOCAL_PROD_SIGN_PATCH), the floor's
  // no-op activities are queued; both wait outside at the gate. Then every step's attempts as the
  // worker timed them.
  const phase = (name: string) => {
    const line = out.split('\n').find((l) => l.startsWith(`| ${name} |`));
    assert.ok(line, `phase ${name} in the timeline: ${out}`);
    const [ours, floor] = line.split('|').slice(2, 4).map((c) => /^([\d.]+) ms$/.exec(c.trim())?.[1]);
    assert.ok(ours !== undefined && floor !== undefined, line);
    return { ours: Number(ours), floor: Number(floor) };
  };
  assert.ok(phase('total').ours > 0 && phase('total').floor > 0);
  assert.ok(phase('workflow task running').ours > 0, 'the steps run inside workflow tasks');
  assert.equal(phase('activity running').ours, 0, 'ours queues no activity');
  assert.ok(phase('activity running').floor > 0, "the floor's activities are queued");
  const outside = phase('outside (gate, approval round trip)');
  assert.ok(outside.ours > 0 && outside.floor > 0, 'both wait at the gate');
  assert.match(out, /^\| step at level 1 \(one attempt as the worker timed it, local steps too; mean over 1 runs\) \| mean \| attempts \|$/m, out);
  for (const step of ['authorize', 'checkKeys', 'build', 'attestImage', 'devSign', 'platformVerify', 'evidence', 'prodSign', 'release']) {
    assert.match(out, new RegExp(`^\\| ${step} \\| \\d+ ms \\| [12] \\|$`, 'm'), `step ${step} timed by the worker`);
  }

  const byHand = row('push + sign, attest x2, verify, verify-attestation, platform sign');
  assert.ok(byHand, out);
  assert.match(byHand, /\| \d+(\.\d+)?x \|/);
  assert.match(byHand, /cosign \d+/, 'the cosign processes CPU is counted');
});

test('BENCH_REGISTRY=olareg npm run bench runs as printed: bundles on a registry with the Referrers API, beside the same yardsticks', { timeout: 15 * 60_000 }, () => {
  // With BENCH_REQUEST_LOG (an earlier run's lines in the file): this run's requests, and only them.
  const requestLog = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-request-log-')), 'requests.txt');
  fs.writeFileSync(requestLog, 'STALE /v2/from-an-earlier-run\n');
  // Five promotions at level 1: olareg spends about 7 to 10 ms on one, a clock tick or less of /proc's count, which a few alone can miss.
  const { out, row } = runAsPrinted('BENCH_REGISTRY=olareg npm run bench', { BENCH_REQUEST_LOG: requestLog, BENCH_SERIAL: '5' });
  const logged = fs.readFileSync(requestLog, 'utf8').trimEnd().split('\n');
  fs.rmSync(path.dirname(requestLog), { recursive: true, force: true });
  assert.ok(logged.every((line) => /^(GET|HEAD|PUT|POST|PATCH|DELETE) \/v2\//.test(line)), `only this run's request lines: ${logged.slice(0, 3).join(' | ')}`);
  assert.ok(logged.some((line) => /^GET \/v2\/bench\/app-\d\/referrers\/sha256:[0-9a-f]{64}$/.test(line)), 'the Referrers API is read on olareg');
  assert.match(out, /^registry: olareg \(with the Referrers API\); signature format: bundle; 10 repositories$/m);
  // Spread over ten repositories by default, in turn: five promotions, one in each of the first five, none in bench/app.
  const pushedTo = new Set(logged.flatMap((line) => /^PUT \/v2\/(bench\/app[^/]*)\/manifests\/sha256:/.exec(line)?.[1] ?? []));
  assert.deepEqual([...pushedTo].sort(), ['bench/app-0', 'bench/app-1', 'bench/app-2', 'bench/app-3', 'bench/app-4']);
  const level = row('1');
  assert.ok(level, out);
  const cells = level.split('|').map((c) => c.trim());
  const [oursRate, floorRate] = cells[3].split(' / ').map(Number);
  assert.ok(oursRate > 0 && floorRate > 0, level);
  // Counted from olareg's own log of the requests it answered.
  assert.ok(Number(cells[8]) >= 10, `registry requests per promotion: ${level}`);
  const cpu = out.split('\n').filter((l) => l.startsWith('| 1 |'))[1];
  assert.match(cpu.split('|')[2], /registry \d+/, `olareg's CPU is counted as the registry's: ${cpu}`);
  assert.ok(row('push + sign, attest x2, verify, verify-attestation, platform sign'), out);
});

test('BENCH_REGISTRY=olareg BENCH_REPOSITORIES=1 npm run bench runs as printed: ours in one repository, bench/app, as before 2026-11-28', { timeout: 15 * 60_000 }, () => {
  const requestLog = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-request-log-')), 'requests.txt');
  const { out, row } = runAsPrinted('BENCH_REGISTRY=olareg BENCH_REPOSITORIES=1 npm run bench', { BENCH_REQUEST_LOG: requestLog, BENCH_SERIAL: '2', BENCH_BY_HAND: '0' });
  const logged = fs.readFileSync(requestLog, 'utf8');
  fs.rmSync(path.dirname(requestLog), { recursive: true, force: true });
  assert.match(out, /^registry: olareg \(with the Referrers API\); signature format: bundle; one repository$/m);
  // Both promotions in bench/app, none in the spread bench's repositories.
  assert.ok(new Set(logged.match(/^PUT \/v2\/bench\/app\/manifests\/sha256:[0-9a-f]{64}$/gm) ?? []).size >= 2, logged);
  assert.doesNotMatch(logged, /^\S+ \/v2\/bench\/app-\d+\//m);
  const level = row('1');
  assert.ok(level, out);
  assert.ok(Number(level.split('|')[3].split(' / ')[0]) > 0, level);
});

test("BENCH_FLOOR_VOTE=at-gate BENCH_REGISTRY=olareg npm run bench runs as printed: the floor's client waits for its gate's answer, then votes, as ours", { timeout: 15 * 60_000 }, () => {
  const { out, row } = runAsPrinted('BENCH_FLOOR_VOTE=at-gate BENCH_REGISTRY=olareg npm run bench', { BENCH_SERIAL: '2', BENCH_BY_HAND: '0' });
  assert.match(out, /^registry: olareg \(with the Referrers API\); signature format: bundle; 10 repositories; the floor's vote sent once its gate has answered \(BENCH_FLOOR_VOTE=at-gate\)$/m);
  const level = row('1');
  assert.ok(level, out);
  // The floor's runs ended PROMOTED (the bench throws otherwise) through the update-with-start and the vote after it.
  const [oursRate, floorRate] = level.split('|')[3].split(' / ').map(Number);
  assert.ok(oursRate > 0 && floorRate > 0, level);
});

test('BENCH_WORKER_NODE_ARGS="--trace-opt --trace-deopt" BENCH_KEEP=1 BENCH_REGISTRY=olareg npm run bench runs as printed: both workers get the flags, their logs are kept and read by bench/jit-summary.ts', { timeout: 15 * 60_000 }, (t) => {
  // With a warm-up of three (a batch of three of each side), said before the first level; its
  // images go to a repository of their own, the measured ones to theirs (bench/app-0, bench/app-1).
  const requestLog = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-request-log-')), 'requests.txt');
  t.after(() => fs.rmSync(path.dirname(requestLog), { recursive: true, force: true }));
  const { out, row } = runAsPrinted('BENCH_WORKER_NODE_ARGS="--trace-opt --trace-deopt" BENCH_KEEP=1 BENCH_REGISTRY=olareg npm run bench', { BENCH_SERIAL: '2', BENCH_BY_HAND: '0', BENCH_WARMUP: '3', BENCH_REQUEST_LOG: requestLog });
  assert.match(out, /^warm-up: 3 promotions of ours \(in bench\/warmup, a repository of their own\) and 3 of the floor's, 3 at once, taking turns; not measured \(BENCH_WARMUP=0 for none\)$/m, out);
  const logged = fs.readFileSync(requestLog, 'utf8');
  const imagePushes = (repository: string) => new Set(logged.match(new RegExp(`^PUT /v2/${repository}/manifests/sha256:[0-9a-f]{64}$`, 'gm')) ?? []).size;
  // Each promotion pushes its image and six bundle referrers by digest: at least one manifest each.
  assert.ok(imagePushes('bench/warmup') >= 3, `the warm-up's promotions in bench/warmup:\n${logged}`);
  for (const k of [0, 1]) assert.ok(imagePushes(`bench/app-${k}`) >= 1, `a measured one in bench/app-${k}:\n${logged}`);
  assert.match(out, /^stack files: \S+ \((tmpfs|no writable tmpfs at \/dev\/shm)\)$/m, out);
  const kept = /^kept: (\S+) \(the workers' logs: worker\.log, floor-worker\.log\)$/m.exec(out);
  assert.ok(kept, out);
  t.after(() => fs.rmSync(kept[1], { recursive: true, force: true }));
  assert.ok(row('1'), out);
  // Ours and the floor's worker alike: one rule for both sides.
  for (const log of ['worker.log', 'floor-worker.log']) {
    const summary: { status: number | null; stdout: string; stderr: string } = spawnSync('npx', ['tsx', 'bench/jit-summary.ts', path.join(kept[1], log)], { cwd: path.resolve(__dirname, '../..'), encoding: 'utf8' });
    assert.equal(summary.status, 0, `${log}: ${summary.stderr}`);
    assert.match(summary.stdout, /: [1-9]\d* TurboFan compiles, \d+ ms compiling/, `${log}: ${summary.stdout}`);
  }
});

test('BENCH_FLOOR_VOTE other than ahead or at-gate is refused before anything starts, naming both', () => {
  const run = spawnSync('npm', ['run', 'bench'], { cwd: path.resolve(__dirname, '../..'), encoding: 'utf8', env: { ...process.env, BENCH_FLOOR_VOTE: 'later' } });
  assert.notEqual(run.status, 0);
  assert.match(run.stderr, /BENCH_FLOOR_VOTE: ahead \(.*\) or at-gate \(.*\), not "later"/);
});
