import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { measureHostileMix, renderHostileMix, type HostileMix } from './hostile-mix.js';
import { FOREIGN_LIMIT, measure, measureClean, PROMPT, RETRIES, standInContentChunks, waitIdle, type MeasureContext } from './measure.js';
import { CLK_TCK, coreTimes, cpuMicros, cpuMicrosOfCommand, cpuModel, memory, pinSelf, TASKSET } from './proc.js';
import {
  checkTargets,
  renderMarkdown,
  renderScenario,
  renderTable,
  renderTargets,
  SCENARIOS,
  SERVER_KINDS,
  SERVER_LABEL,
  STREAM_CONTENT_CHUNKS,
  type BenchResults,
  type ReportMeta,
  type ScenarioSpec,
} from './report.js';
import {
  addTempDir,
  ADMIN_KEY,
  benchDatabaseName,
  cleanup,
  createBenchDatabase,
  keepTempDirs,
  log,
  loud,
  MODEL,
  sleep,
  startBaseline,
  startColloquy,
  startStandIn,
  type Server,
} from './servers.js';
import { measureLocalModel, renderLocalModel, type LocalModelFigures } from './local-model.js';
import { measureUploadInterference, renderInterference, type Interference } from './upload-interference.js';

/**
 * `npm run bench`: the issue's table in one run. The bare pass-through, colloquy on PostgreSQL
 * (when DATABASE_URL is set) and colloquy on the embedded PGlite, measured one after the other
 * in each scenario against a fast local stand-in upstream:
 *
 *   core 0: the servers (only the one measured is under load; the others wait idle)
 *   core 1: the stand-in upstream (its own process) and this process (the load generator)
 *
 * See README.md for the environment variables.
 */

const root = process.cwd();
const quick = process.env.BENCH_QUICK === '1';
const measureSeconds = Number(process.env.BENCH_SECONDS ?? (quick ? 1.5 : 6));
const warmupSeconds = Number(process.env.BENCH_WARMUP_SECONDS ?? (quick ? 0.5 : 2));
/** Seconds a server rests after priming before its idle RSS is read. */
const settleSeconds = quick ? 1 : 3;
const extras = process.env.BENCH_EXTRAS === '1';
/** `hostile-mix`: only the availability measurement (no scenarios). */
const only = process.env.BENCH_ONLY ?? '';
const picked = new Set((process.env.BENCH_SCENARIOS ?? '').split(',').filter(Boolean));
if (process.env.BENCH_KEEP === '1') keepTempDirs();

async function main(): Promise<void> {
  const started = new Date();
  if (!existsSync(join(root, 'dist/main.js'))) throw new Error(`run from the project root after npm run build (no ${join(root, 'dist/main.js')})`);
  const unknown = [...picked].filter((id) => !SCENARIOS.some((s) => s.id === id));
  if (unknown.length) throw new Error(`BENCH_SCENARIOS: unknown ${unknown.join(', ')} (known: ${SCENARIOS.map((s) => s.id).join(', ')})`);
  const pinned = pinSelf(1);
  if (!pinned) loud(`taskset ${TASKSET ? 'failed' : 'is missing'}: running UNPINNED (servers, stand-in and load generator share all cores)`);
  const tmp = mkdtempSync(join(tmpdir(), 'colloquy-bench-'));
  addTempDir(tmp);
  const adminUrl = process.env.DATABASE_URL?.trim() || null;

  log(
    `colloquy bench: pass-through, ${adminUrl ? 'PostgreSQL and ' : ''}embedded; ${measureSeconds}s measured after ${warmupSeconds}s warm-up per measurement`,
  );
  if (!adminUrl) log('(DATABASE_URL is not set: the PostgreSQL column is not measured)');
  log(`pinning: ${pinned ? 'servers under test on core 0; stand-in + load generator on core 1' : 'NONE (taskset unavailable)'}`);

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
  const chunks = await standInContentChunks(standIn.origin);
  if (chunks !== STREAM_CONTENT_CHUNKS) {
    const why = `the stand-in streams ${chunks} content chunks per answer, not ${STREAM_CONTENT_CHUNKS}`;
    if (process.env.BENCH_STANDIN === 'support') loud(why);
    else throw new Error(why);
  }
  log(`stand-in ${standIn.origin} (pid ${standIn.child.pid}): ${chunks} content chunks per stream`);

  const servers: Server[] = [await startBaseline(tmp, standIn.origin)];
  if (adminUrl) {
    const dbUrl = await createBenchDatabase(adminUrl);
    log(`database: fresh PostgreSQL database ${benchDatabaseName()} (dropped at the end)`);
    servers.push(await startColloquy(join(tmp, 'postgres'), standIn.origin, dbUrl));
  }
  servers.push(await startColloquy(join(tmp, 'embedded'), standIn.origin, null));
  for (const s of servers) log(`${SERVER_LABEL[s.kind]}: ${s.origin} (pid ${s.pid})`);

  const ctx: MeasureContext = {
    standInPid: standIn.child.pid!,
    postgres: adminUrl !== null,
    warmupMs: warmupSeconds * 1000,
    measureMs: measureSeconds * 1000,
  };
  const results: BenchResults = { measured: servers.map((s) => s.kind), figures: {}, idleRssMb: {}, endRssMb: {}, foreignLimit: FOREIGN_LIMIT };
  const others = (server: Server) => servers.filter((s) => s !== server);

  // Prime every server (JIT, connection pools, each key's first use and session) before anything is recorded.
  const prime: MeasureContext = { ...ctx, warmupMs: 0, measureMs: quick ? 300 : 1000 };
  for (const server of servers) {
    const specs: Array<Pick<ScenarioSpec, 'endpoint' | 'stream' | 'concurrency' | 'distinctKeys'>> = [];
    for (const endpoint of ['/v1/chat/completions', '/chat'] as const) {
      for (const stream of [false, true]) specs.push({ endpoint, stream, concurrency: 16, distinctKeys: false });
    }
    if (server.kind !== 'baseline') specs.push({ endpoint: '/chat', stream: false, concurrency: 16, distinctKeys: true });
    for (const spec of specs) {
      const f = await measure(prime, server, others(server), spec);
      if (f.errors)
        throw new Error(`${SERVER_LABEL[server.kind]} fails while priming ${spec.endpoint} stream=${spec.stream}: ${f.errorSamples.join(' | ')}`);
    }
  }

  // Idle RSS: once every server has finished what priming left it, and rested a little.
  await waitForQuiet(servers, ctx.postgres);
  await sleep(settleSeconds * 1000);
  for (const server of servers) results.idleRssMb[server.kind] = (memory(server.pid)?.rss ?? NaN) / 2 ** 20;
  log(`idle RSS: ${servers.map((s) => `${SERVER_LABEL[s.kind]} ${results.idleRssMb[s.kind]!.toFixed(0)} MB`).join(', ')}`);

  for (const spec of only ? [] : SCENARIOS) {
    if (picked.size && !picked.has(spec.id)) continue;
    const figures: NonNullable<BenchResults['figures'][typeof spec.id]> = {};
    results.figures[spec.id] = figures;
    for (const server of servers) {
      if (server.kind === 'baseline' && !spec.baseline) continue;
      // All servers share core 0: let each finish what the last measurement left it (metering writes) first.
      await waitForQuiet(servers, ctx.postgres);
      figures[server.kind] = await measureClean(() => measure(ctx, server, others(server), spec), `${SERVER_LABEL[server.kind]}, ${spec.id}`);
    }
    log(renderScenario(results, spec));
  }

  if (!only) {
    await waitForQuiet(servers, ctx.postgres);
    await sleep(settleSeconds * 1000);
    for (const server of servers) results.endRssMb[server.kind] = (memory(server.pid)?.rss ?? NaN) / 2 ** 20;
  }

  // The main colloquy: on PostgreSQL when there is one.
  const primary = servers.find((s) => s.kind === 'postgres') ?? servers.find((s) => s.kind === 'embedded')!;
  let interference: Interference | null = null;
  let hostileMix: HostileMix | null = null;
  if (extras && !only) {
    await waitForQuiet(servers, ctx.postgres);
    interference = await measureUploadInterference(ctx, primary);
    log(`\nchat latency during uploads (${SERVER_LABEL[primary.kind]}): ${renderInterference(interference)}`);
  }
  if (extras || only === 'hostile-mix') {
    await waitForQuiet(servers, ctx.postgres);
    hostileMix = await measureHostileMix({ origin: primary.origin, adminKey: ADMIN_KEY, model: MODEL }, measureSeconds);
    log(`\nhostile mix (${SERVER_LABEL[primary.kind]}): ${renderHostileMix(hostileMix)}`);
  }

  // A local model in the same process (tokens per second, time to first token): a figure, not a target.
  let localModel: LocalModelFigures | null = null;
  if (!only) {
    await waitForQuiet(servers, ctx.postgres);
    localModel = await measureLocalModel(primary.origin, ADMIN_KEY);
    log(`\nlocal model (${SERVER_LABEL[primary.kind]}): ${renderLocalModel(localModel)}`);
  }

  const targets = checkTargets(results);
  const table = renderTable(results);
  log(`\n${table}\n\n${renderTargets(targets)}\n`);

  const meta: ReportMeta & Record<string, unknown> = {
    date: started.toISOString(),
    node: process.version,
    cpu: cpuModel(),
    cores: cpus().length,
    databases: adminUrl
      ? 'PostgreSQL (a fresh database on DATABASE_URL) and embedded PGlite (temp DATA_DIR)'
      : 'embedded PGlite only (DATABASE_URL not set)',
    measureSeconds,
    warmupSeconds,
    quick,
    pinned,
    pinning: pinned ? 'servers under test: core 0, one under load at a time; stand-in upstream + load generator: core 1' : 'none',
    standIn: process.env.BENCH_STANDIN === 'support' ? 'test/support/stand-in-upstream.ts' : 'test/bench/stand-in.ts',
    standInContentChunks: chunks,
    clkTck: CLK_TCK,
    machineBusyAtStartCores: Number(machineBusy.toFixed(2)),
    foreignLimitCores: FOREIGN_LIMIT,
    retries: RETRIES,
    prompt: PROMPT,
    scenarios: picked.size ? [...picked] : 'all',
    durationSeconds: (Date.now() - started.getTime()) / 1000,
  };
  const outDir = join(root, 'test/bench/results');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(
    join(outDir, 'latest.json'),
    `${JSON.stringify({ meta, table, targets, idleRssMb: results.idleRssMb, endRssMb: results.endRssMb, figures: results.figures, interference, hostileMix, localModel }, null, 2)}\n`,
  );
  const extrasMd = [
    '## Chat latency during a 200-page PDF upload',
    '',
    interference ? renderInterference(interference) : '(not measured: BENCH_EXTRAS=1)',
    '',
    '## Chat latency and probes under a hostile mix',
    '',
    hostileMix ? renderHostileMix(hostileMix) : '(not measured: BENCH_EXTRAS=1)',
    '',
    '## A local model (provider local, in-process llama.cpp)',
    '',
    localModel ? renderLocalModel(localModel) : '(not measured)',
    '',
  ].join('\n');
  writeFileSync(join(outDir, 'latest.md'), `${renderMarkdown(meta, results, targets)}\n${extrasMd}`);
  log(`results: ${resolve(outDir, 'latest.json')}, ${resolve(outDir, 'latest.md')} (${Math.round(meta.durationSeconds)} s)`);

  const failed = SCENARIOS.flatMap((s) => SERVER_KINDS.filter((k) => results.figures[s.id]?.[k]?.errors).map((k) => `${SERVER_LABEL[k]}, ${s.id}`));
  if (failed.length) {
    loud(`${failed.length} measurement(s) FAILED with request errors: ${failed.join('; ')}`);
    if (process.env.BENCH_KEEP !== '1') log("(rerun with BENCH_KEEP=1 to keep the servers' logs)");
    process.exitCode = 1;
  }
}

/** Waits until every server (and PostgreSQL, when used) is idle; says so loudly when one stays busy. */
async function waitForQuiet(servers: Server[], postgres: boolean): Promise<void> {
  for (const s of servers) {
    if (!(await waitIdle(() => cpuMicros(s.pid) ?? 0))) loud(`${SERVER_LABEL[s.kind]} is still busy 20 s after its last load; measuring anyway`);
  }
  if (postgres && !(await waitIdle(() => cpuMicrosOfCommand('postgres'))))
    loud('PostgreSQL is still busy 20 s after the last load; measuring anyway');
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
