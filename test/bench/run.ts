import type { ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { request } from 'undici';
import { measureHostileMix, renderHostileMix } from './hostile-mix.js';
import { percentile, runLoad, type LoadResult } from './load.js';
import { CLK_TCK, coreTimes, cpuMicros, cpuMicrosOfCommand, cpuModel, freePort, memory, pinSelf, spawnNode, TASKSET } from './proc.js';
import { renderMarkdown, renderScenario, renderTargets, type Figures, type Scenario, type Target } from './report.js';

/**
 * `npm run bench`: colloquy's hot path against a fast local stand-in upstream, beside a minimal
 * Fastify + undici pass-through proxy (the baseline), one scenario at a time.
 *
 *   core 0: the server under test (colloquy, then the baseline; never both under load at once)
 *   core 1: the stand-in upstream (its own process) and this process (the load generator)
 *
 * Environment: BENCH_SECONDS (measure window, default 6), BENCH_WARMUP_SECONDS (default 2),
 * BENCH_QUICK=1 (short smoke run), BENCH_CONCURRENCY (default "1,16,64"), BENCH_KEEP=1 (keep the
 * temp dir with the servers' logs), BENCH_STANDIN=support (use test/support's stand-in),
 * DATABASE_URL (PostgreSQL server: a fresh database is created for the run and dropped after;
 * without it colloquy uses the embedded PGlite under a temp DATA_DIR).
 */

const here = dirname(fileURLToPath(import.meta.url));
const root = process.cwd();
const quick = process.env.BENCH_QUICK === '1';
const measureSeconds = Number(process.env.BENCH_SECONDS ?? (quick ? 1.5 : 6));
const warmupSeconds = Number(process.env.BENCH_WARMUP_SECONDS ?? (quick ? 0.5 : 2));
const concurrencies = (process.env.BENCH_CONCURRENCY ?? '1,16,64')
  .split(',')
  .map((s) => Number(s.trim()))
  .filter((n) => n > 0);
const keep = process.env.BENCH_KEEP === '1';
/** `hostile-mix`: only the availability measurement (skips the scenarios and the upload interference). */
const only = process.env.BENCH_ONLY ?? '';
const ADMIN_KEY = 'bench-admin-key-0123456789abcdef';
const ENDPOINTS = ['/v1/chat/completions', '/chat'] as const;
const PROMPT =
  'Summarise in two short sentences why a gateway in front of a language model should keep its own overhead ' +
  'small, measure it against a plain proxy, and report the ratio so that regressions are caught early please.';

const children = new Set<ChildProcess>();
const tempDirs: string[] = [];
let benchDb: { adminUrl: string; name: string } | null = null;
let cleaningUp: Promise<void> | null = null;

function log(msg: string): void {
  process.stdout.write(`${msg}\n`);
}

function loud(msg: string): void {
  process.stderr.write(`\n!!!!!!!! ${msg}\n\n`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

// ---------------------------------------------------------------------------------------------
// Processes

async function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
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

interface Server {
  name: Target;
  pid: number;
  origin: string;
  child: ChildProcess;
  logFile: string;
}

async function startStandIn(): Promise<{ child: ChildProcess; origin: string }> {
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

async function startColloquy(tmp: string, upstreamOrigin: string, databaseUrl: string | null): Promise<Server> {
  const port = await freePort();
  const configFile = join(tmp, 'colloquy.yaml');
  writeFileSync(
    configFile,
    [
      'providers:',
      `  bench: { base_url: "${upstreamOrigin}/v1", api_key: "sk-bench" }`,
      'models:',
      '  - { id: bench-model, provider: bench, upstream_id: bench-upstream, context_window: 128000, max_output_tokens: 4096, pricing: { input: 2.5, output: 10 } }',
      'defaults: { model: bench-model }',
      '',
    ].join('\n'),
  );
  const dataDir = join(tmp, 'data');
  mkdirSync(dataDir);
  const logFile = join(tmp, 'colloquy.log');
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
  await waitReady(`${origin}/health/ready`, child, 'colloquy', logFile, databaseUrl ? 60_000 : 120_000);
  return { name: 'colloquy', pid: child.pid!, origin, child, logFile };
}

async function startBaseline(tmp: string, upstreamOrigin: string): Promise<Server> {
  const port = await freePort();
  const logFile = join(tmp, 'baseline.log');
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
  return { name: 'baseline', pid: child.pid!, origin, child, logFile };
}

// ---------------------------------------------------------------------------------------------
// Database

async function createBenchDatabase(url: string): Promise<string> {
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

// ---------------------------------------------------------------------------------------------
// Cleanup

function cleanup(): Promise<void> {
  cleaningUp ??= (async () => {
    await Promise.all([...children].map((c) => stopChild(c)));
    await dropBenchDatabase();
    if (!keep) for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
    else for (const dir of tempDirs) log(`kept ${dir}`);
  })();
  return cleaningUp;
}

process.on('exit', () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  if (!keep) for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    loud(`${signal}: stopping`);
    void cleanup().finally(() => process.exit(130));
  });
}

// ---------------------------------------------------------------------------------------------
// One measurement

const FOREIGN_LIMIT = Number(process.env.BENCH_FOREIGN_LIMIT ?? 0.1);
const RETRIES = Number(process.env.BENCH_RETRIES ?? 2);

/** Measures again (up to RETRIES times) while other processes on the machine took more than FOREIGN_LIMIT of a core. */
async function measureClean(run: () => Promise<Figures>, label: string): Promise<Figures> {
  let best = await run();
  let attempts = 1;
  while (best.foreignCores > FOREIGN_LIMIT && attempts <= RETRIES) {
    log(`  (other processes used ${(best.foreignCores * 100).toFixed(0)}% of a core during ${label}: measuring again)`);
    await sleep(1000);
    const again = await run();
    attempts++;
    // Errors count whichever attempt is kept: a discarded attempt's errors still fail the scenario.
    const [keep, drop] = again.foreignCores < best.foreignCores ? [again, best] : [best, again];
    keep.errors += drop.errors;
    keep.errorSamples.push(...drop.errorSamples.slice(0, Math.max(0, 5 - keep.errorSamples.length)));
    drop.errors = 0;
    best = keep;
  }
  best.attempts = attempts;
  return best;
}

/** Waits until a CPU counter grows by under 5% of a core over 250 ms (background work of the last scenario). */
async function waitIdle(cpu: () => number, maxMs = 20_000): Promise<boolean> {
  const deadline = Date.now() + maxMs;
  let before = cpu();
  while (Date.now() < deadline) {
    await sleep(250);
    const now = cpu();
    if (now - before < 0.05 * 250_000) return true;
    before = now;
  }
  return false;
}

async function measure(
  server: Server,
  other: Server | null,
  standInPid: number,
  endpoint: string,
  stream: boolean,
  concurrency: number,
  withPostgres: boolean,
  warmupMs = warmupSeconds * 1000,
  measureMs = measureSeconds * 1000,
): Promise<Figures> {
  // Each request's prompt ends with its own number (the #N# marker), so no cache along the way
  // (token counts, for one) sees the same text twice: the figures are those of fresh prompts.
  const body = JSON.stringify({
    model: 'bench-model',
    messages: [{ role: 'user', content: `${PROMPT} (request #N#)` }],
    ...(stream ? { stream: true } : {}),
  });
  let cpu0 = { server: 0, other: 0, standIn: 0, self: 0, postgres: 0 };
  let cpu1 = { ...cpu0 };
  let peakRss = 0;
  let cores0 = coreTimes();
  let cores1 = cores0;
  let sampler: NodeJS.Timeout | null = null;
  const read = () => ({
    server: cpuMicros(server.pid) ?? NaN,
    other: other ? (cpuMicros(other.pid) ?? NaN) : 0,
    standIn: cpuMicros(standInPid) ?? NaN,
    self: cpuMicros(process.pid) ?? NaN,
    postgres: withPostgres ? cpuMicrosOfCommand('postgres') : 0,
  });
  const sample = (): void => {
    const m = memory(server.pid);
    if (m && m.rss > peakRss) peakRss = m.rss;
  };
  const result: LoadResult = await runLoad({
    origin: server.origin,
    path: endpoint,
    headers: server.name === 'colloquy' ? { authorization: `Bearer ${ADMIN_KEY}` } : {},
    body,
    stream,
    concurrency,
    warmupMs,
    measureMs,
    onWindowStart: () => {
      cores0 = coreTimes();
      cpu0 = read();
      sample();
      sampler = setInterval(sample, 100);
    },
    onWindowEnd: () => {
      cpu1 = read();
      cores1 = coreTimes();
      sample();
      if (sampler) clearInterval(sampler);
    },
  });
  const hwm = memory(server.pid)?.hwm ?? NaN;
  const latency = result.latencyMs.sort();
  const ttfc = result.ttfcMs.sort();
  const per = (us: number) => (result.ok ? us / result.ok : NaN);
  const windowUs = result.windowMs * 1000;
  // Everything the machine's cores ran in the window, minus what the bench's own processes ran:
  // other people's work (builds, tests) sharing these two cores.
  const allBusyUs = (cores1.reduce((sum, c, i) => sum + (c.busy - c.steal) - ((cores0[i]?.busy ?? 0) - (cores0[i]?.steal ?? 0)), 0) * 1e6) / CLK_TCK;
  const oursUs =
    cpu1.server - cpu0.server + (cpu1.other - cpu0.other) + (cpu1.standIn - cpu0.standIn) + (cpu1.self - cpu0.self) + (cpu1.postgres - cpu0.postgres);
  const coreShare = (i: number, key: 'busy' | 'steal') => {
    const total = (cores1[i]?.total ?? 0) - (cores0[i]?.total ?? 0);
    return total > 0 ? ((cores1[i]?.[key] ?? 0) - (cores0[i]?.[key] ?? 0)) / total : NaN;
  };
  return {
    requests: result.requests,
    ok: result.ok,
    errors: result.errors + result.warmupErrors,
    errorSamples: result.errorSamples,
    windowMs: result.windowMs,
    rps: result.rps,
    p50: percentile(latency, 50),
    p99: percentile(latency, 99),
    ttfcP50: stream ? percentile(ttfc, 50) : null,
    ttfcP99: stream ? percentile(ttfc, 99) : null,
    cpuPerReqUs: per(cpu1.server - cpu0.server),
    serverCoreBusy: (cpu1.server - cpu0.server) / windowUs,
    otherServerBusy: (cpu1.other - cpu0.other) / windowUs,
    standInCpuPerReqUs: per(cpu1.standIn - cpu0.standIn),
    loadgenCpuPerReqUs: per(cpu1.self - cpu0.self),
    core1Busy: (cpu1.standIn - cpu0.standIn + cpu1.self - cpu0.self) / windowUs,
    foreignCores: (allBusyUs - oursUs) / windowUs,
    attempts: 1,
    core0BusyAll: coreShare(0, 'busy'),
    core1BusyAll: coreShare(1, 'busy'),
    stealCore0: coreShare(0, 'steal'),
    stealCore1: coreShare(1, 'steal'),
    postgresCpuPerReqUs: withPostgres ? per(cpu1.postgres - cpu0.postgres) : null,
    peakRssMb: peakRss / 2 ** 20,
    hwmMb: hwm / 2 ** 20,
  };
}

// ---------------------------------------------------------------------------------------------

interface Interference {
  alone: Figures;
  duringUploads: Figures;
  uploads: number;
  uploadMs: number[];
}

/**
 * The issue's measure for text extraction staying off the main thread: /v1/chat/completions
 * latency (1 client) alone, then while another client keeps uploading a 200-page PDF.
 */
async function measureUploadInterference(server: Server, standInPid: number): Promise<Interference> {
  const pdf = readFileSync(join(root, 'test/fixtures/documents/long-200-pages.pdf'));
  const alone = await measure(server, null, standInPid, '/v1/chat/completions', false, 1, false);
  let running = true;
  const uploadMs: number[] = [];
  const uploader = (async () => {
    while (running) {
      const form = new FormData();
      form.append('file', new Blob([pdf]), 'long-200-pages.pdf');
      const t0 = performance.now();
      const res = await fetch(`${server.origin}/files/upload`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_KEY}` }, body: form });
      const body = (await res.json()) as { data?: Array<{ id: string; pages: number }> };
      if (res.status !== 201 || body.data?.[0]?.pages !== 200) throw new Error(`upload failed: ${res.status} ${JSON.stringify(body).slice(0, 200)}`);
      uploadMs.push(performance.now() - t0);
      await fetch(`${server.origin}/files/${body.data[0].id}`, { method: 'DELETE', headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    }
  })();
  const duringUploads = await measure(server, null, standInPid, '/v1/chat/completions', false, 1, false);
  running = false;
  await uploader;
  return { alone, duringUploads, uploads: uploadMs.length, uploadMs };
}

function renderInterference(i: Interference): string {
  const f = (n: number) => n.toFixed(2);
  const up = [...i.uploadMs].sort((a, b) => a - b);
  return [
    `/v1/chat/completions, 1 client: p50 ${f(i.alone.p50)} ms, p99 ${f(i.alone.p99)} ms alone;`,
    `p50 ${f(i.duringUploads.p50)} ms, p99 ${f(i.duringUploads.p99)} ms while ${i.uploads} uploads of a 200-page PDF ran back to back`,
    `(upload + extraction p50 ${f(up[Math.floor(up.length / 2)] ?? NaN)} ms).`,
  ].join(' ');
}

async function main(): Promise<void> {
  if (!existsSync(join(root, 'dist/main.js'))) throw new Error(`run from the project root after npm run build (no ${join(root, 'dist/main.js')})`);
  const pinned = pinSelf(1);
  if (!pinned) loud(`taskset ${TASKSET ? 'failed' : 'is missing'}: running UNPINNED (server, stand-in and load generator share all cores)`);
  const tmp = mkdtempSync(join(tmpdir(), 'colloquy-bench-'));
  tempDirs.push(tmp);
  const adminUrl = process.env.DATABASE_URL?.trim() || null;
  const database = adminUrl ? 'postgres' : 'pglite';
  const started = new Date();

  log(
    `colloquy bench: ${database}, ${measureSeconds}s measured after ${warmupSeconds}s warm-up per scenario, concurrency ${concurrencies.join('/')}`,
  );
  log(`pinning: ${pinned ? 'server under test on core 0; stand-in + load generator on core 1' : 'NONE (taskset unavailable)'}`);

  const idleBefore = coreTimes();
  await sleep(1000);
  const idleAfter = coreTimes();
  const machineBusy =
    idleAfter.reduce((sum, c, i) => sum + (c.busy - c.steal) - ((idleBefore[i]?.busy ?? 0) - (idleBefore[i]?.steal ?? 0)), 0) / CLK_TCK;
  if (machineBusy > 0.2) {
    loud(
      `the machine is busy before the bench starts: other processes use ${machineBusy.toFixed(2)} cores; measurements they disturb are retried (BENCH_RETRIES) and flagged`,
    );
  }

  const standIn = await startStandIn();
  const dbUrl = adminUrl ? await createBenchDatabase(adminUrl) : null;
  if (benchDb) log(`database: fresh PostgreSQL database ${benchDb.name} (dropped at the end)`);
  const colloquy = await startColloquy(tmp, standIn.origin, dbUrl);
  const baseline = await startBaseline(tmp, standIn.origin);
  log(
    `stand-in ${standIn.origin} (pid ${standIn.child.pid}), colloquy ${colloquy.origin} (pid ${colloquy.pid}), baseline ${baseline.origin} (pid ${baseline.pid})`,
  );

  // Prime both servers (JIT, connection pools, first rows) before anything is recorded.
  const primeMs = quick ? 300 : 1000;
  for (const server of [colloquy, baseline]) {
    for (const endpoint of ENDPOINTS) {
      for (const stream of [false, true]) {
        const f = await measure(server, null, standIn.child.pid!, endpoint, stream, 16, false, 0, primeMs);
        if (f.errors) {
          throw new Error(`${server.name} fails while priming ${endpoint} stream=${stream}: ${f.errorSamples.join(' | ')}`);
        }
      }
    }
  }

  const scenarios: Scenario[] = [];
  for (const endpoint of only ? [] : ENDPOINTS) {
    for (const stream of [false, true]) {
      for (const concurrency of concurrencies) {
        const figures = {} as Record<Target, Figures>;
        for (const [server, other] of [
          [colloquy, baseline],
          [baseline, colloquy],
        ] as const) {
          // The other server shares core 0: let it finish what the last scenario left it (metering writes).
          for (const s of [other, server]) {
            if (!(await waitIdle(() => cpuMicros(s.pid) ?? 0))) loud(`${s.name} is still busy 20 s after its last scenario; measuring anyway`);
          }
          if (database === 'postgres' && !(await waitIdle(() => cpuMicrosOfCommand('postgres')))) {
            loud('PostgreSQL is still busy 20 s after the last scenario; measuring anyway');
          }
          figures[server.name] = await measureClean(
            () => measure(server, other, standIn.child.pid!, endpoint, stream, concurrency, database === 'postgres'),
            `${server.name} ${endpoint} stream=${stream} c=${concurrency}`,
          );
        }
        const scenario: Scenario = { endpoint, stream, concurrency, colloquy: figures.colloquy, baseline: figures.baseline };
        scenarios.push(scenario);
        log(renderScenario(scenario));
        for (const target of ['colloquy', 'baseline'] as const) {
          const f = figures[target];
          if (f.errors)
            loud(`FAILED: ${target} ${endpoint} stream=${stream} c=${concurrency}: ${f.errors} errors, e.g. ${f.errorSamples.join(' | ')}`);
        }
      }
    }
  }

  const interference = only ? null : await measureUploadInterference(colloquy, standIn.child.pid!);
  if (interference) log(renderInterference(interference));
  const hostileMix = await measureHostileMix({ origin: colloquy.origin, adminKey: ADMIN_KEY, model: 'bench-model' }, measureSeconds);
  log(renderHostileMix(hostileMix));

  const meta = {
    date: started.toISOString(),
    node: process.version,
    cpu: cpuModel(),
    cores: (await import('node:os')).cpus().length,
    database,
    measureSeconds,
    warmupSeconds,
    quick,
    pinned,
    pinning: pinned ? 'server under test: core 0; stand-in upstream + load generator: core 1' : 'none',
    standIn: process.env.BENCH_STANDIN === 'support' ? 'test/support/stand-in-upstream.ts' : 'test/bench/stand-in.ts',
    clkTck: CLK_TCK,
    machineBusyAtStartCores: Number(machineBusy.toFixed(2)),
    foreignLimitCores: FOREIGN_LIMIT,
    retries: RETRIES,
    prompt: PROMPT,
  };
  const { text: targetsText, targets } = renderTargets(scenarios);
  log(targetsText);

  const failed = scenarios.filter((s) => s.colloquy.errors || s.baseline.errors);
  const outDir = join(root, 'test/bench/results');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'latest.json'), `${JSON.stringify({ meta, targets, scenarios, interference, hostileMix }, null, 2)}\n`);
  writeFileSync(
    join(outDir, 'latest.md'),
    `${renderMarkdown(meta, scenarios, targetsText)}\n## Chat latency during a 200-page PDF upload\n\n${interference ? renderInterference(interference) : '(not measured)'}\n\n## Chat latency and probes under a hostile mix\n\n${renderHostileMix(hostileMix)}\n`,
  );
  log(`results: ${resolve(outDir, 'latest.json')}, ${resolve(outDir, 'latest.md')}`);

  if (failed.length) {
    loud(`${failed.length} scenario(s) FAILED with errors: ${failed.map((s) => `${s.endpoint} stream=${s.stream} c=${s.concurrency}`).join('; ')}`);
    if (!keep) log("(rerun with BENCH_KEEP=1 to keep the servers' logs)");
    process.exitCode = 1;
  }
}

main()
  .catch((err: unknown) => {
    loud(`bench failed: ${(err as Error)?.stack ?? String(err)}`);
    process.exitCode = 1;
  })
  .finally(async () => {
    await cleanup();
    process.exit();
  });
