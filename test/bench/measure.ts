import { percentile, runLoad, type LoadResult } from './load.js';
import { CLK_TCK, coreTimes, cpuMicros, cpuMicrosOfCommand, memory } from './proc.js';
import type { Figures, ScenarioSpec } from './report.js';
import { MODEL, log, sleep, type Server } from './servers.js';

/** One measurement of one server in one scenario, with the machine's state around it. */

export const PROMPT =
  'Summarise in two short sentences why a gateway in front of a language model should keep its own overhead ' +
  'small, measure it against a plain proxy, and report the ratio so that regressions are caught early please.';

export const FOREIGN_LIMIT = Number(process.env.BENCH_FOREIGN_LIMIT ?? 0.1);
export const RETRIES = Number(process.env.BENCH_RETRIES ?? 2);

export interface MeasureContext {
  standInPid: number;
  /** Count PostgreSQL's backends as the bench's own CPU (only while a colloquy on PostgreSQL is measured). */
  postgres: boolean;
  warmupMs: number;
  measureMs: number;
}

/** The request body; `#N#` becomes a per-request number (see load.ts). */
export function benchBody(stream: boolean): string {
  // Each prompt ends with its own number, so no cache along the way (token counts, for one) sees
  // the same text twice: the figures are those of fresh prompts.
  return JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: `${PROMPT} (request #N#)` }], ...(stream ? { stream: true } : {}) });
}

function headersFor(server: Server, spec: Pick<ScenarioSpec, 'distinctKeys'>): (client: number) => Record<string, string> {
  if (server.kind === 'baseline') return () => ({});
  return (client) => {
    const key = spec.distinctKeys ? server.keys[client % server.keys.length] : server.oneKey;
    return { authorization: `Bearer ${key}` };
  };
}

export async function measure(
  ctx: MeasureContext,
  server: Server,
  others: Server[],
  spec: Pick<ScenarioSpec, 'endpoint' | 'stream' | 'concurrency' | 'distinctKeys'>,
): Promise<Figures> {
  let cpu0 = { server: 0, others: 0, standIn: 0, self: 0, postgres: 0 };
  let cpu1 = { ...cpu0 };
  let peakRss = 0;
  let cores0 = coreTimes();
  let cores1 = cores0;
  const postgres = ctx.postgres && server.kind === 'postgres';
  const read = () => ({
    server: cpuMicros(server.pid) ?? NaN,
    others: others.reduce((sum, o) => sum + (cpuMicros(o.pid) ?? NaN), 0),
    standIn: cpuMicros(ctx.standInPid) ?? NaN,
    self: cpuMicros(process.pid) ?? NaN,
    postgres: postgres ? cpuMicrosOfCommand('postgres') : 0,
  });
  const sample = (): void => {
    const m = memory(server.pid);
    if (m && m.rss > peakRss) peakRss = m.rss;
  };
  // RSS is sampled from the first request on (the warm-up included): the peak under this load.
  sample();
  const sampler = setInterval(sample, 100);
  let result: LoadResult;
  try {
    result = await runLoad({
      origin: server.origin,
      path: spec.endpoint,
      headers: headersFor(server, spec),
      body: benchBody(spec.stream),
      stream: spec.stream,
      concurrency: spec.concurrency,
      warmupMs: ctx.warmupMs,
      measureMs: ctx.measureMs,
      onWindowStart: () => {
        cores0 = coreTimes();
        cpu0 = read();
      },
      onWindowEnd: () => {
        cpu1 = read();
        cores1 = coreTimes();
        sample();
      },
    });
  } finally {
    clearInterval(sampler);
  }
  const latency = result.latencyMs.sort();
  const ttfc = result.ttfcMs.sort();
  const per = (us: number) => (result.ok ? us / result.ok : NaN);
  const windowUs = result.windowMs * 1000;
  // Everything the machine's cores ran in the window, minus what the bench's own processes ran:
  // other people's work (builds, tests) sharing these two cores.
  const allBusyUs = (cores1.reduce((sum, c, i) => sum + (c.busy - c.steal) - ((cores0[i]?.busy ?? 0) - (cores0[i]?.steal ?? 0)), 0) * 1e6) / CLK_TCK;
  const oursUs =
    cpu1.server -
    cpu0.server +
    (cpu1.others - cpu0.others) +
    (cpu1.standIn - cpu0.standIn) +
    (cpu1.self - cpu0.self) +
    (cpu1.postgres - cpu0.postgres);
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
    ttfcP50: spec.stream ? percentile(ttfc, 50) : null,
    ttfcP99: spec.stream ? percentile(ttfc, 99) : null,
    cpuPerReqUs: per(cpu1.server - cpu0.server),
    serverCoreBusy: (cpu1.server - cpu0.server) / windowUs,
    otherServerBusy: (cpu1.others - cpu0.others) / windowUs,
    standInCpuPerReqUs: per(cpu1.standIn - cpu0.standIn),
    loadgenCpuPerReqUs: per(cpu1.self - cpu0.self),
    core1Busy: (cpu1.standIn - cpu0.standIn + cpu1.self - cpu0.self) / windowUs,
    foreignCores: (allBusyUs - oursUs) / windowUs,
    attempts: 1,
    core0BusyAll: coreShare(0, 'busy'),
    core1BusyAll: coreShare(1, 'busy'),
    stealCore0: coreShare(0, 'steal'),
    stealCore1: coreShare(1, 'steal'),
    postgresCpuPerReqUs: postgres ? per(cpu1.postgres - cpu0.postgres) : null,
    peakRssMb: peakRss / 2 ** 20,
    hwmMb: (memory(server.pid)?.hwm ?? NaN) / 2 ** 20,
  };
}

/** Measures again (up to RETRIES times) while other processes on the machine took more than FOREIGN_LIMIT of a core. */
export async function measureClean(run: () => Promise<Figures>, label: string): Promise<Figures> {
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
export async function waitIdle(cpu: () => number, maxMs = 20_000): Promise<boolean> {
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

/** Counts the content chunks (a delta with text) of one streamed answer straight from the stand-in. */
export async function standInContentChunks(origin: string): Promise<number> {
  const res = await fetch(`${origin}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-bench' },
    body: benchBody(true).replace('#N#', '1'),
  });
  const text = await res.text();
  let n = 0;
  for (const frame of text.split('\n\n')) {
    if (!frame.startsWith('data: {')) continue;
    const chunk = JSON.parse(frame.slice(6)) as { choices?: Array<{ delta?: { content?: string } }> };
    if (chunk.choices?.[0]?.delta?.content) n++;
  }
  return n;
}
