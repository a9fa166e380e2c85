import type { ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { request } from 'undici';
import { localModelYaml } from './local-model.js';
import { freePort, spawnNode } from './proc.js';
import type { ServerKind } from './report.js';

/**
 * The bench's processes: the stand-in upstream (core 1), the baseline pass-through and the
 * colloquy servers (core 0), the PostgreSQL database made for the run, and their cleanup.
 */

const here = dirname(fileURLToPath(import.meta.url));
const root = process.cwd();
export const ADMIN_KEY = 'bench-admin-key-0123456789abcdef';
export const MODEL = 'bench-model';

export interface Server {
  kind: ServerKind;
  pid: number;
  origin: string;
  child: ChildProcess;
  logFile: string;
  /** colloquy: the one service key (a plain user's) every one-key scenario uses. */
  oneKey: string | null;
  /** colloquy: 16 keys, each of its own user, for the distinct-keys scenario. */
  keys: string[];
}

const children = new Set<ChildProcess>();
const tempDirs: string[] = [];
let benchDb: { adminUrl: string; name: string } | null = null;
let cleaningUp: Promise<void> | null = null;
let keepTemp = false;

export function log(msg: string): void {
  process.stdout.write(`${msg}\n`);
}

export function loud(msg: string): void {
  process.stderr.write(`\n!!!!!!!! ${msg}\n\n`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function keepTempDirs(): void {
  keepTemp = true;
}

export function addTempDir(dir: string): void {
  tempDirs.push(dir);
}

export async function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    children.delete(child);
    return;
  }
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
  children.delete(child);
}

function waitForLine(child: ChildProcess, prefix: string, name: string, timeoutMs = 15_000): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    let buffered = '';
    const timer = setTimeout(() => reject(new Error(`${name} did not start within ${timeoutMs} ms`)), timeoutMs);
    child.once('exit', (code) => reject(new Error(`${name} exited (code ${code}) before it was ready`)));
    child.stdout!.on('data', (d: Buffer) => {
      buffered += d.toString();
      const line = buffered.split('\n').find((l) => l.startsWith(prefix));
      if (line) {
        clearTimeout(timer);
        resolvePromise(line.slice(prefix.length).trim());
      }
    });
    child.stdout!.resume();
  });
}

async function waitReady(url: string, child: ChildProcess, name: string, logFile: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) break;
    try {
      const res = await request(url, { headersTimeout: 2000, bodyTimeout: 2000 });
      last = `HTTP ${res.statusCode}: ${(await res.body.text()).slice(0, 300)}`;
      if (res.statusCode === 200) return;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(100);
  }
  const tail = existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').slice(-30).join('\n') : '';
  throw new Error(`${name} did not become ready (${last}); last log lines:\n${tail}`);
}

export async function startStandIn(): Promise<{ child: ChildProcess; origin: string }> {
  const child = spawnNode([join(here, 'stand-in.js')], {
    core: 1,
    env: { PATH: process.env.PATH, BENCH_STANDIN: process.env.BENCH_STANDIN, NODE_ENV: 'production' },
    stdout: 'pipe',
    stderr: 'pipe',
  });
  children.add(child);
  child.stderr!.on('data', (d: Buffer) => process.stderr.write(`[stand-in] ${d.toString()}`));
  const port = await waitForLine(child, 'LISTENING ', 'the stand-in upstream');
  return { child, origin: `http://127.0.0.1:${port}` };
}

/** Colloquy (`dist/main.js`) on core 0, on the PostgreSQL database `databaseUrl` or, without it, the embedded PGlite in `dir`/data. */
export async function startColloquy(dir: string, upstreamOrigin: string, databaseUrl: string | null): Promise<Server> {
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const configFile = join(dir, 'colloquy.yaml');
  const modelsDir = join(dir, 'models');
  mkdirSync(modelsDir);
  writeFileSync(
    configFile,
    [
      'providers:',
      `  bench: { base_url: "${upstreamOrigin}/v1", api_key: "sk-bench" }`,
      'models:',
      `  - { id: ${MODEL}, provider: bench, upstream_id: bench-upstream, context_window: 128000, max_output_tokens: 4096, pricing: { input: 2.5, output: 10 } }`,
      // Loaded only when the local-model figure is measured (after the RSS readings).
      localModelYaml(modelsDir),
      `defaults: { model: ${MODEL} }`,
      '',
    ].join('\n'),
  );
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir);
  const logFile = join(dir, 'colloquy.log');
  const fd = openSync(logFile, 'a');
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    TMPDIR: process.env.TMPDIR,
    NODE_ENV: 'production',
    PORT: String(port),
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    CONFIG_FILE: configFile,
    COLLOQUY_ADMIN_KEY: ADMIN_KEY,
    LOG_LEVEL: 'info',
    RATE_LIMIT_RPM: '100000000',
    RATE_LIMIT_TPM: '100000000',
    SHUTDOWN_GRACE_MS: '2000',
  };
  if (process.env.BENCH_SERVER_NODE_OPTIONS) env.NODE_OPTIONS = process.env.BENCH_SERVER_NODE_OPTIONS;
  if (databaseUrl) env.DATABASE_URL = databaseUrl;
  const child = spawnNode([join(root, 'dist/main.js')], { core: 0, env, stdout: fd, stderr: fd });
  closeSync(fd);
  children.add(child);
  const origin = `http://127.0.0.1:${port}`;
  const name = `colloquy (${databaseUrl ? 'PostgreSQL' : 'embedded'})`;
  await waitReady(`${origin}/health/ready`, child, name, logFile, databaseUrl ? 60_000 : 120_000);
  const server: Server = { kind: databaseUrl ? 'postgres' : 'embedded', pid: child.pid!, origin, child, logFile, oneKey: null, keys: [] };
  server.oneKey = await issueKey(origin, 'bench-service');
  for (let i = 0; i < 16; i++) server.keys.push(await issueKey(origin, `bench-user-${i + 1}`));
  return server;
}

/** A new plain user with one API key, through the admin API (POST /users, POST /users/{id}/keys). */
async function issueKey(origin: string, name: string): Promise<string> {
  const call = async (path: string, body: object): Promise<{ id: string; key: string }> => {
    const res = await request(`${origin}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await res.body.text();
    if (res.statusCode !== 201) throw new Error(`POST ${path} answered ${res.statusCode}: ${text.slice(0, 300)}`);
    return JSON.parse(text) as { id: string; key: string };
  };
  const user = await call('/users', { name });
  return (await call(`/users/${user.id}/keys`, { name })).key;
}

export async function startBaseline(dir: string, upstreamOrigin: string): Promise<Server> {
  const port = await freePort();
  const logFile = join(dir, 'baseline.log');
  const fd = openSync(logFile, 'a');
  const child = spawnNode([join(here, 'baseline-proxy.js')], {
    core: 0,
    env: { PATH: process.env.PATH, NODE_ENV: 'production', PORT: String(port), HOST: '127.0.0.1', UPSTREAM_ORIGIN: upstreamOrigin },
    stdout: fd,
    stderr: fd,
  });
  closeSync(fd);
  children.add(child);
  const origin = `http://127.0.0.1:${port}`;
  await waitReady(`${origin}/health/ready`, child, 'the baseline proxy', logFile);
  return { kind: 'baseline', pid: child.pid!, origin, child, logFile, oneKey: null, keys: [] };
}

/** A fresh database on the PostgreSQL server at `url`, dropped by cleanup(); answers its URL. */
export async function createBenchDatabase(url: string): Promise<string> {
  const name = `colloquy_bench_${new Date().toISOString().replace(/\D/g, '').slice(0, 14)}_${process.pid}`;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
  benchDb = { adminUrl: url, name };
  const dbUrl = new URL(url);
  dbUrl.pathname = `/${name}`;
  return dbUrl.toString();
}

export function benchDatabaseName(): string | null {
  return benchDb?.name ?? null;
}

async function dropBenchDatabase(): Promise<void> {
  if (!benchDb) return;
  const { adminUrl, name } = benchDb;
  benchDb = null;
  const client = new pg.Client({ connectionString: adminUrl });
  try {
    await client.connect();
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } catch (err) {
    loud(`could not drop the bench database ${name}: ${(err as Error).message}`);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export function cleanup(): Promise<void> {
  cleaningUp ??= (async () => {
    await Promise.all([...children].map((c) => stopChild(c)));
    await dropBenchDatabase();
    if (!keepTemp) for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
    else for (const dir of tempDirs) log(`kept ${dir}`);
  })();
  return cleaningUp;
}

process.on('exit', () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  if (!keepTemp) for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    loud(`${signal}: stopping`);
    void cleanup().finally(() => process.exit(130));
  });
}
