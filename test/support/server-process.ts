import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { assertBuilt } from './built.js';

/**
 * The real server as users start it (`node dist/main.js`, built once by `npm ci`), in its
 * own process: for what only a process shows (signals, stdout, exit codes) and for clients that
 * must talk to a separate server (the CLI).
 */
export interface ServerProcess {
  url: string;
  port: number;
  child: ChildProcess;
  dataDir: string;
  stdout(): string;
  /** Resolves once stdout or stderr (so far or later) matches; rejects if the process exits first. */
  printed(pattern: string | RegExp): Promise<void>;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
  });
}

export interface ServerProcessOptions {
  dataDir?: string;
  /** Start it as users do, with `npm start` (the process is then npm, which hands signals on). */
  npmStart?: boolean;
  /** Return at once, before the server listens (to watch it start). */
  noWait?: boolean;
}

export async function startServerProcess(env: Record<string, string> = {}, options: ServerProcessOptions = {}): Promise<ServerProcess> {
  assertBuilt('dist/main.js');
  const entry = resolve('dist/main.js');
  const port = await freePort();
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'colloquy-proc-'));
  let out = '';
  const watchers = new Set<() => void>();
  const [command, args] = options.npmStart ? ['npm', ['start']] : [process.execPath, [entry]];
  const child = spawn(command, args, {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      PORT: String(port),
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const onOutput = (c: Buffer): void => {
    out += c.toString();
    for (const watcher of [...watchers]) watcher();
  };
  child.stdout.on('data', onOutput);
  child.stderr.on('data', onOutput);
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  // 'close' comes after the last output has been read, so an error below can show all of it.
  let exitCode: number | null | undefined;
  child.on('close', (code) => {
    exitCode = code;
    for (const watcher of [...watchers]) watcher();
  });
  const printed = (pattern: string | RegExp) =>
    new Promise<void>((resolvePrinted, reject) => {
      const check = () => {
        if (typeof pattern === 'string' ? out.includes(pattern) : pattern.test(out)) {
          watchers.delete(check);
          resolvePrinted();
        } else if (exitCode !== undefined) {
          watchers.delete(check);
          reject(new Error(`server exited (${exitCode}) before printing ${String(pattern)}:\n${out}`));
        }
      };
      watchers.add(check);
      check();
    });
  const url = `http://127.0.0.1:${port}`;
  if (!options.noWait) {
    // The server says when it serves requests (after listening, migrating and the admin bootstrap).
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        // npm cannot hand SIGKILL on: it would leave the server running.
        child.kill(options.npmStart ? 'SIGTERM' : 'SIGKILL');
        reject(new Error(`server not ready in time:\n${out}`));
      }, 60_000);
    });
    try {
      await Promise.race([Promise.all([printed('"msg":"listening"'), printed('"msg":"ready for requests"')]), late]);
    } finally {
      clearTimeout(timer);
    }
    const ready = await fetch(`${url}/health/ready`);
    if (ready.status !== 200) throw new Error(`server said it was ready, but /health/ready answered ${ready.status}: ${await ready.text()}\n${out}`);
  }
  return {
    url,
    port,
    child,
    dataDir,
    stdout: () => out,
    printed,
    exited,
    stop: async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(timer);
      }
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
