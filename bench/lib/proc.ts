// What a process costs, read from Linux's /proc: CPU time, peak resident memory, and finding the
// processes of a PostgreSQL database by their title.
import { readdirSync, readFileSync } from 'node:fs';

const TICKS = 100; // clock ticks per second in /proc/<pid>/stat (USER_HZ, 100 on Linux)

/** User + system CPU seconds of a process so far (all its threads); undefined once it is gone. */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS;
  } catch {
    return undefined;
  }
}

/** Peak resident set size in MB (VmHWM) of a live process. */
export function peakRssMb(pid: number): number {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** Pids whose command line (PostgreSQL backends set it to "postgres: … user database host …") matches. */
export function pidsByTitle(pattern: RegExp): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (pattern.test(readFileSync(`/proc/${entry}/cmdline`, 'utf8'))) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/**
 * CPU seconds of a changing set of processes (database backends come and go with a pool): sampled
 * every `everyMs`, each pid's last reading kept, so a backend that exits keeps what it used.
 */
export function cpuOfGroup(find: () => number[], everyMs = 500): { seconds(): number; stop(): void } {
  const last = new Map<number, number>();
  const sample = () => {
    for (const pid of find()) {
      const s = cpuSeconds(pid);
      if (s !== undefined) last.set(pid, s);
    }
  };
  sample();
  const timer = setInterval(sample, everyMs);
  timer.unref();
  return {
    seconds: () => {
      sample();
      return [...last.values()].reduce((a, b) => a + b, 0);
    },
    stop: () => clearInterval(timer),
  };
}
