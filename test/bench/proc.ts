import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';

/** Helpers reading /proc (Linux) and pinning processes to a core with taskset. */

export const TASKSET = ['/usr/bin/taskset', '/bin/taskset', '/usr/sbin/taskset'].find((p) => existsSync(p)) ?? null;

/** Clock ticks per second for /proc/<pid>/stat (getconf CLK_TCK, almost always 100). */
export const CLK_TCK = (() => {
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isFinite(n) && n > 0 ? n : 100;
  } catch {
    return 100;
  }
})();

/** utime + stime of a process (all its threads), in microseconds; null once it is gone. */
export function cpuMicros(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces: fields are counted after its closing paren.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return ((utime + stime) * 1e6) / CLK_TCK;
  } catch {
    return null;
  }
}

/** VmRSS and VmHWM of a process in bytes. */
export function memory(pid: number): { rss: number; hwm: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string): number => {
      const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status);
      return m ? Number(m[1]) * 1024 : 0;
    };
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return null;
  }
}

/** Total CPU (µs) of every process whose command name is `comm` (e.g. the PostgreSQL backends). */
export function cpuMicrosOfCommand(comm: string): number {
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const open = stat.indexOf('(');
      const close = stat.lastIndexOf(')');
      if (stat.slice(open + 1, close) !== comm) continue;
      const fields = stat.slice(close + 2).split(' ');
      total += ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLK_TCK;
    } catch {
      // the process ended between readdir and read
    }
  }
  return total;
}

export function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    return m ? m[1].trim() : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Pins this process (all its threads) to `core`; false when taskset is missing or refuses. */
export function pinSelf(core: number): boolean {
  if (!TASKSET) return false;
  try {
    execFileSync(TASKSET, ['-a', '-cp', String(core), String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Starts `node <args>` pinned to `core` when taskset exists (taskset execs node: the pid is node's). */
export function spawnNode(
  args: string[],
  options: { core: number | null; env: NodeJS.ProcessEnv; stdout: 'pipe' | number; stderr: 'pipe' | number },
): ChildProcess {
  const [cmd, argv] =
    options.core !== null && TASKSET ? [TASKSET, ['-c', String(options.core), process.execPath, ...args]] : [process.execPath, args];
  return spawn(cmd, argv, { env: options.env, stdio: ['ignore', options.stdout, options.stderr] });
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface CoreTimes {
  /** Ticks not idle (user, nice, system, irq, softirq, steal), all processes. */
  busy: number;
  steal: number;
  total: number;
}

/** Per-core times from /proc/stat (index = core number). */
export function coreTimes(): CoreTimes[] {
  const cores: CoreTimes[] = [];
  try {
    for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
      const m = /^cpu(\d+)\s+(.*)$/.exec(line);
      if (!m) continue;
      const [user, nice, system, idle, iowait, irq, softirq, steal] = m[2].split(/\s+/).map(Number);
      const busy = user + nice + system + irq + softirq + (steal || 0);
      cores[Number(m[1])] = { busy, steal: steal || 0, total: busy + idle + iowait };
    }
  } catch {
    // not Linux
  }
  return cores;
}
