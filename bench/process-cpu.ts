/**
 * CPU time of a process and everything it started, from /proc/<pid>/stat (utime + stime, plus the
 * children it has already waited for), so a bench can print CPU per promotion per process.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** USER_HZ on Linux is 100 on every architecture Node ships for; /proc reports ticks in it. */
const TICKS_PER_SECOND = 100;

interface Stat {
  ppid: number;
  ticks: number;
}

function readStat(pid: number): Stat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name may hold spaces and parentheses; the fields after its last ')' are fixed.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): ppid is field 4, utime..cstime are fields 14..17.
  return { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]) };
}

/** Milliseconds of CPU used so far by `pid` and its live descendants; throws when `pid` is not running (a reading of it would be 0, not a figure). */
export function processTreeCpuMs(pid: number): number {
  const stats = new Map<number, Stat>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readStat(Number(name));
    if (stat) stats.set(Number(name), stat);
  }
  if (!stats.has(pid)) throw new Error(`no process ${pid} to read CPU time from (it has exited, or the bench holds the wrong pid)`);
  let ticks = 0;
  const pending = [pid];
  while (pending.length > 0) {
    const p = pending.pop()!;
    ticks += stats.get(p)?.ticks ?? 0;
    for (const [child, stat] of stats) if (stat.ppid === p) pending.push(child);
  }
  return (ticks * 1000) / TICKS_PER_SECOND;
}

/** CPU milliseconds of the children this process has waited for (the cosign processes of the by-hand flow). */
export function reapedChildrenCpuMs(pid = process.pid): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[13]) + Number(fields[14])) * 1000) / TICKS_PER_SECOND;
}

/** CPU milliseconds of this process (the bench client), from Node's own accounting. */
export function ownCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** A reading of several processes' CPU; `since` gives what each used after an earlier reading. */
export class CpuMeter {
  constructor(private readonly pids: Record<string, number>) {}

  read(): Record<string, number> {
    const out: Record<string, number> = { client: ownCpuMs(), cosign: reapedChildrenCpuMs() };
    for (const [name, pid] of Object.entries(this.pids)) out[name] = processTreeCpuMs(pid);
    return out;
  }

  static since(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
    return Object.fromEntries(Object.keys(after).map((k) => [k, after[k] - (before[k] ?? 0)]));
  }
}
