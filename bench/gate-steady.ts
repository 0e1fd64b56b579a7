/**
 * The steady state of many open gates (bench/gate.ts, BENCH_STEADY_SECONDS): every parked
 * promotion's gate wakes on its own to read its evidence pack again (`evidenceCheckEvery`,
 * an hour by default, each gate spread +-25 %), so N parked promotions make N such wakes an
 * interval, each a workflow task that (with the cache far smaller than N) replays the run first.
 * The bench measures what they cost while they happen: the evidence reads the worker counted
 * (countersign_step_duration_seconds for the `evidence` step), the CPU of the worker, the Temporal
 * server and the registry, before any gate woke and once every gate has woken at least once.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchStack } from './support';
import { CpuMeter } from './process-cpu';

export interface SteadyWindow {
  /** What the window measured: idle (after parking, before the first wake) or steady. */
  label: string;
  seconds: number;
  /** Evidence reads the worker finished in the window: one per wake. */
  wakes: number;
  /** CPU milliseconds each process used in the window. */
  cpuMs: Record<string, number>;
}

/** Evidence reads finished so far, from the worker's metrics endpoint. */
async function evidenceReads(bench: BenchStack): Promise<number> {
  return (await bench.stepSeconds()).evidence?.count ?? 0;
}

/** Measures one window of `seconds`: the evidence reads and each process's CPU. */
export async function measureWindow(bench: BenchStack, label: string, seconds: number): Promise<SteadyWindow> {
  const meter = new CpuMeter(bench.pids);
  const cpuBefore = meter.read();
  const readsBefore = await evidenceReads(bench);
  const began = Date.now();
  await sleep(seconds * 1000);
  const cpuMs = CpuMeter.since(cpuBefore, meter.read());
  const wakes = (await evidenceReads(bench)) - readsBefore;
  return { label, seconds: (Date.now() - began) / 1000, wakes, cpuMs: { worker: cpuMs.worker, server: cpuMs.server, registry: cpuMs.registry } };
}

/** Slack past the latest first wake, for timers that fire a little late on a busy machine. */
const WAKE_SLACK_MS = 10_000;

/** The evidence reads so far: taken when the last gate parked, so untilEveryGateWoke can say how many woke since. */
export async function wakeBaseline(bench: BenchStack): Promise<{ at: number; reads: number }> {
  return { at: Date.now(), reads: await evidenceReads(bench) };
}

/**
 * Waits until every gate parked by the baseline has woken at least once (1.25 intervals after it,
 * the spread being +-25 %, and a little slack) and resolves with the evidence reads since: at least
 * one per parked gate when their wakes work (more when early gates woke twice meanwhile).
 */
export async function untilEveryGateWoke(bench: BenchStack, baseline: { at: number; reads: number }, intervalMs: number, log: (line: string) => void): Promise<number> {
  const wait = baseline.at + intervalMs * 1.25 + WAKE_SLACK_MS - Date.now();
  if (wait > 0) {
    log(`waiting ${Math.round(wait / 1000)} s until every gate has woken once (1.25 intervals after the last one parked)`);
    await sleep(wait);
  }
  return (await evidenceReads(bench)) - baseline.reads;
}

/** The table row of a window: wakes a second, CPU per wake per process, and the share of the machine's cores. */
export function steadyRow(w: SteadyWindow, cores: number): Array<string | number> {
  const total = w.cpuMs.worker + w.cpuMs.server + w.cpuMs.registry;
  const perWake = (ms: number) => (w.wakes > 0 ? (ms / w.wakes).toFixed(1) : '-');
  return [
    w.label,
    Math.round(w.seconds),
    w.wakes,
    (w.wakes / w.seconds).toFixed(1),
    `${perWake(w.cpuMs.worker)} / ${perWake(w.cpuMs.server)} / ${perWake(w.cpuMs.registry)}`,
    `${Math.round(w.cpuMs.worker / w.seconds)} / ${Math.round(w.cpuMs.server / w.seconds)} / ${Math.round(w.cpuMs.registry / w.seconds)}`,
    `${((100 * total) / (w.seconds * 1000 * cores)).toFixed(1)} %`,
  ];
}

export const STEADY_HEADER = [
  'window',
  'seconds',
  'evidence reads (wakes)',
  'wakes a second',
  'CPU ms per wake: worker / server / registry',
  'CPU ms a second: worker / server / registry',
  'share of the cores',
];

/** What the measured cost per wake comes to at another interval: wakes a second and the share of the cores. */
export function atInterval(w: SteadyWindow, parked: number, intervalMs: number, cores: number): { wakesPerSecond: number; share: number } {
  const wakesPerSecond = parked / (intervalMs / 1000);
  const perWake = w.wakes > 0 ? (w.cpuMs.worker + w.cpuMs.server + w.cpuMs.registry) / w.wakes : 0;
  return { wakesPerSecond, share: (wakesPerSecond * perWake) / (1000 * cores) };
}
