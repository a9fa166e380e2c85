/** Tables and target checks for the bench results (console text and Markdown). */

export type Target = 'colloquy' | 'baseline';

export interface Figures {
  requests: number;
  ok: number;
  /** Errors in the warm-up and the measure window: any error fails the scenario. */
  errors: number;
  errorSamples: string[];
  windowMs: number;
  rps: number;
  p50: number;
  p99: number;
  ttfcP50: number | null;
  ttfcP99: number | null;
  /** Server process CPU (user + system, all threads) per completed request. */
  cpuPerReqUs: number;
  /** Server CPU time / wall time in the window (1 = core 0 saturated). */
  serverCoreBusy: number;
  /** CPU of the other server (idle, on the same core) / wall time: should be ~0. */
  otherServerBusy: number;
  standInCpuPerReqUs: number;
  loadgenCpuPerReqUs: number;
  /** (stand-in + load generator CPU) / wall time: near 1 means core 1 may be the bottleneck. */
  core1Busy: number;
  /** CPU used by processes outside the bench in the window, in cores (other people's builds): should be ~0. */
  foreignCores: number;
  /** Measurements taken (more than 1 when foreign load spoiled the first). */
  attempts: number;
  /** From /proc/stat: share of each core busy with anything (all processes), and stolen by the hypervisor. */
  core0BusyAll: number;
  core1BusyAll: number;
  stealCore0: number;
  stealCore1: number;
  postgresCpuPerReqUs: number | null;
  peakRssMb: number;
  hwmMb: number;
}

export interface Scenario {
  endpoint: string;
  stream: boolean;
  concurrency: number;
  colloquy: Figures;
  baseline: Figures;
}

export interface TargetCheck {
  name: string;
  status: 'PASS' | 'MISS' | 'NOT MEASURED';
  detail: string;
}

const TARGET_RPS_RATIO = 0.35;
const TARGET_TTFC_MS = 1;
const TARGET_RSS_MB = 300;

function fmt(n: number | null | undefined, digits = 1): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  return n.toFixed(digits);
}

function ratio(a: number | null, b: number | null): string {
  if (a === null || b === null || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return '—';
  return `${(a / b).toFixed(2)}×`;
}

function diff(a: number | null, b: number | null, digits = 2): string {
  if (a === null || b === null || !Number.isFinite(a) || !Number.isFinite(b)) return '—';
  const d = a - b;
  return `${d >= 0 ? '+' : ''}${d.toFixed(digits)} ms`;
}

function pct(n: number): string {
  return Number.isFinite(n) ? `${Math.round(n * 100)}%` : '—';
}

export function title(s: Pick<Scenario, 'endpoint' | 'stream' | 'concurrency'>): string {
  return `POST ${s.endpoint}  ${s.stream ? 'streaming' : 'non-streaming'}  ${s.concurrency} client${s.concurrency === 1 ? '' : 's'}`;
}

export function renderScenario(s: Scenario): string {
  const c = s.colloquy;
  const b = s.baseline;
  const rows: string[][] = [
    ['', 'colloquy', 'baseline', 'ratio', 'difference'],
    ['requests/s', fmt(c.rps), fmt(b.rps), ratio(c.rps, b.rps), ''],
    ['latency p50 (ms)', fmt(c.p50, 2), fmt(b.p50, 2), ratio(c.p50, b.p50), diff(c.p50, b.p50)],
    ['latency p99 (ms)', fmt(c.p99, 2), fmt(b.p99, 2), ratio(c.p99, b.p99), diff(c.p99, b.p99)],
  ];
  if (s.stream) {
    rows.push(['first chunk p50 (ms)', fmt(c.ttfcP50, 2), fmt(b.ttfcP50, 2), ratio(c.ttfcP50, b.ttfcP50), diff(c.ttfcP50, b.ttfcP50)]);
    rows.push(['first chunk p99 (ms)', fmt(c.ttfcP99, 2), fmt(b.ttfcP99, 2), ratio(c.ttfcP99, b.ttfcP99), diff(c.ttfcP99, b.ttfcP99)]);
  }
  rows.push(['server CPU/request (µs)', fmt(c.cpuPerReqUs, 0), fmt(b.cpuPerReqUs, 0), ratio(c.cpuPerReqUs, b.cpuPerReqUs), '']);
  rows.push(['peak RSS (MB)', fmt(c.peakRssMb), fmt(b.peakRssMb), ratio(c.peakRssMb, b.peakRssMb), '']);
  rows.push(['VmHWM (MB)', fmt(c.hwmMb), fmt(b.hwmMb), ratio(c.hwmMb, b.hwmMb), '']);
  if (c.postgresCpuPerReqUs !== null) rows.push(['postgres CPU/request (µs)', fmt(c.postgresCpuPerReqUs, 0), fmt(b.postgresCpuPerReqUs, 0), '', '']);
  rows.push(['core 0 busy (server)', pct(c.serverCoreBusy), pct(b.serverCoreBusy), '', '']);
  rows.push(['core 0 used by the idle other server', pct(c.otherServerBusy), pct(b.otherServerBusy), '', '']);
  rows.push(['core 1 busy (stand-in + loadgen)', pct(c.core1Busy), pct(b.core1Busy), '', '']);
  rows.push([
    'cores 0 / 1 busy, all processes',
    `${pct(c.core0BusyAll)} / ${pct(c.core1BusyAll)}`,
    `${pct(b.core0BusyAll)} / ${pct(b.core1BusyAll)}`,
    '',
    '',
  ]);
  rows.push([
    'other processes (cores)',
    `${fmt(c.foreignCores, 2)}${c.attempts > 1 ? ` (${c.attempts} tries)` : ''}`,
    `${fmt(b.foreignCores, 2)}${b.attempts > 1 ? ` (${b.attempts} tries)` : ''}`,
    '',
    '',
  ]);
  rows.push(['cores 0 / 1 steal', `${pct(c.stealCore0)} / ${pct(c.stealCore1)}`, `${pct(b.stealCore0)} / ${pct(b.stealCore1)}`, '', '']);
  rows.push([
    'stand-in / loadgen CPU/req (µs)',
    `${fmt(c.standInCpuPerReqUs, 0)} / ${fmt(c.loadgenCpuPerReqUs, 0)}`,
    `${fmt(b.standInCpuPerReqUs, 0)} / ${fmt(b.loadgenCpuPerReqUs, 0)}`,
    '',
    '',
  ]);
  rows.push(['requests ok / errors', `${c.ok} / ${c.errors}`, `${b.ok} / ${b.errors}`, '', '']);
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const lines = rows.map((r) => r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('   '));
  const failed =
    c.errors || b.errors ? `   *** FAILED: ${c.errors ? `colloquy ${c.errors} errors ` : ''}${b.errors ? `baseline ${b.errors} errors` : ''}***` : '';
  const warn =
    Math.max(b.core1Busy, c.core1Busy, b.core1BusyAll, c.core1BusyAll) > 0.9
      ? `\n  note: core 1 (stand-in + load generator) was ${pct(Math.max(b.core1BusyAll, c.core1BusyAll))} busy: the load side may cap these figures`
      : '';
  const foreign = Math.max(c.foreignCores, b.foreignCores);
  const warnForeign =
    foreign > 0.1 ? `\n  WARNING: processes outside the bench used ${fmt(foreign, 2)} cores during a measurement: these figures are disturbed` : '';
  const busyOther = Math.max(c.otherServerBusy, b.otherServerBusy);
  const warnOther = busyOther > 0.05 ? `\n  note: the idle server on core 0 used ${pct(busyOther)} of it during a measurement (background work)` : '';
  return `\n${title(s)}${failed}\n${lines.map((l) => `  ${l}`).join('\n')}${warn}${warnOther}${warnForeign}`;
}

function find(scenarios: Scenario[], endpoint: string, stream: boolean, concurrency: number): Scenario | undefined {
  return scenarios.find((s) => s.endpoint === endpoint && s.stream === stream && s.concurrency === concurrency);
}

export function checkTargets(scenarios: Scenario[]): TargetCheck[] {
  const checks: TargetCheck[] = [];

  const a = find(scenarios, '/v1/chat/completions', false, 16);
  if (!a)
    checks.push({ name: '(a) /v1/chat/completions non-streaming, 16 clients: requests/s ≥ 0.35 × baseline', status: 'NOT MEASURED', detail: '' });
  else {
    const r = a.colloquy.rps / a.baseline.rps;
    const errs = a.colloquy.errors + a.baseline.errors;
    checks.push({
      name: '(a) /v1/chat/completions non-streaming, 16 clients: requests/s ≥ 0.35 × baseline',
      status: r >= TARGET_RPS_RATIO && !errs ? 'PASS' : 'MISS',
      detail: `${fmt(a.colloquy.rps)} vs ${fmt(a.baseline.rps)} req/s = ${r.toFixed(3)}× (target ≥ ${TARGET_RPS_RATIO})${errs ? `; ${errs} errors` : ''}`,
    });
  }

  const ttfc = (c: number): string => {
    const s = find(scenarios, '/v1/chat/completions', true, c);
    if (!s) return `c=${c}: not measured`;
    const d = (s.colloquy.ttfcP50 ?? NaN) - (s.baseline.ttfcP50 ?? NaN);
    return `c=${c}: ${fmt(s.colloquy.ttfcP50, 2)} vs ${fmt(s.baseline.ttfcP50, 2)} ms = ${d >= 0 ? '+' : ''}${d.toFixed(2)} ms`;
  };
  const b1 = find(scenarios, '/v1/chat/completions', true, 1);
  const others = [16, 64].filter((c) => find(scenarios, '/v1/chat/completions', true, c)).map(ttfc);
  if (!b1)
    checks.push({
      name: '(b) /v1/chat/completions streaming: median time to first chunk ≤ baseline + 1 ms (judged at 1 client)',
      status: 'NOT MEASURED',
      detail: others.join('; '),
    });
  else {
    const d = (b1.colloquy.ttfcP50 ?? NaN) - (b1.baseline.ttfcP50 ?? NaN);
    const errs = b1.colloquy.errors + b1.baseline.errors;
    checks.push({
      name: '(b) /v1/chat/completions streaming: median time to first chunk ≤ baseline + 1 ms (judged at 1 client)',
      status: d <= TARGET_TTFC_MS && !errs ? 'PASS' : 'MISS',
      detail: `${ttfc(1)} (judged)${others.length ? `; for information ${others.join('; ')}` : ''}${errs ? `; ${errs} errors` : ''}`,
    });
  }

  const rss = ['/v1/chat/completions', '/chat'].map((e) => ({ e, s: find(scenarios, e, true, 64) }));
  if (rss.some((x) => !x.s)) checks.push({ name: '(c) peak RSS with 64 streaming clients < 300 MB', status: 'NOT MEASURED', detail: '' });
  else {
    const worst = Math.max(...rss.map((x) => x.s!.colloquy.peakRssMb));
    checks.push({
      name: '(c) peak RSS with 64 streaming clients < 300 MB',
      status: worst < TARGET_RSS_MB ? 'PASS' : 'MISS',
      detail: rss.map((x) => `${x.e}: ${fmt(x.s!.colloquy.peakRssMb)} MB (VmHWM so far ${fmt(x.s!.colloquy.hwmMb)} MB)`).join('; '),
    });
  }
  return checks;
}

export function renderTargets(scenarios: Scenario[]): { text: string; targets: TargetCheck[] } {
  const targets = checkTargets(scenarios);
  const text = [
    '',
    'Targets (colloquy on one core, metering persisted):',
    ...targets.map((t) => `  [${t.status}] ${t.name}\n         ${t.detail}`),
  ].join('\n');
  return { text, targets };
}

export function renderMarkdown(meta: Record<string, unknown>, scenarios: Scenario[], targetsText: string): string {
  const m = meta as {
    date: string;
    node: string;
    cpu: string;
    cores: number;
    database: string;
    measureSeconds: number;
    warmupSeconds: number;
    quick: boolean;
    pinning: string;
    standIn: string;
  };
  const out: string[] = [];
  out.push('# colloquy bench results', '');
  out.push(`- date: ${m.date}`);
  out.push(`- node: ${m.node}; CPU: ${m.cpu} (${m.cores} cores)`);
  out.push(`- database: ${m.database}${m.database === 'pglite' ? ' (embedded; quote PostgreSQL figures: run with DATABASE_URL set)' : ''}`);
  out.push(
    `- per scenario: ${m.warmupSeconds} s warm-up, ${m.measureSeconds} s measured${m.quick ? ' (BENCH_QUICK smoke run: figures are rough)' : ''}`,
  );
  out.push(`- pinning: ${m.pinning}`);
  out.push(`- upstream: ${m.standIn}; baseline: test/bench/baseline-proxy.ts (Fastify + undici pass-through)`);
  out.push('- closed-loop clients on keep-alive connections; ratio = colloquy / baseline, Δ = colloquy − baseline');
  const disturbed = scenarios.flatMap((s) =>
    (['colloquy', 'baseline'] as const)
      .filter((t) => s[t].foreignCores > 0.1)
      .map((t) => `${t} ${s.endpoint} ${s.stream ? 'stream' : 'no stream'} c=${s.concurrency}`),
  );
  out.push(
    disturbed.length
      ? `- **disturbed by other processes on the machine (> 0.1 core after retries):** ${disturbed.join('; ')}`
      : '- no measurement was disturbed by other processes (each under 0.1 core)',
    '',
  );
  out.push('## Targets', '', '```', targetsText.trim(), '```', '');
  out.push('## Throughput and latency', '');
  out.push(
    '| endpoint | stream | clients | req/s colloquy | req/s baseline | ratio | p50 ms colloquy | p50 ms baseline | Δ p50 | p99 ms colloquy | p99 ms baseline | Δ p99 | first chunk p50 colloquy | first chunk p50 baseline | Δ first chunk | errors |',
  );
  out.push('|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|');
  for (const s of scenarios) {
    const c = s.colloquy;
    const b = s.baseline;
    out.push(
      `| ${s.endpoint} | ${s.stream ? 'yes' : 'no'} | ${s.concurrency} | ${fmt(c.rps)} | ${fmt(b.rps)} | ${ratio(c.rps, b.rps)} | ${fmt(c.p50, 2)} | ${fmt(b.p50, 2)} | ${diff(c.p50, b.p50)} | ${fmt(c.p99, 2)} | ${fmt(b.p99, 2)} | ${diff(c.p99, b.p99)} | ${fmt(c.ttfcP50, 2)} | ${fmt(b.ttfcP50, 2)} | ${diff(c.ttfcP50, b.ttfcP50)} | ${c.errors + b.errors ? `**${c.errors} / ${b.errors} FAILED**` : '0'} |`,
    );
  }
  out.push('', '## CPU and memory', '');
  out.push(
    '| endpoint | stream | clients | server CPU/req µs colloquy | baseline | ratio | peak RSS MB colloquy | baseline | ratio | VmHWM MB colloquy | postgres CPU/req µs | core 0 busy (server) colloquy / baseline | core 1 busy (stand-in + loadgen) colloquy / baseline | cores 0 / 1 busy, all processes, colloquy · baseline | other processes (cores) colloquy / baseline |',
  );
  out.push('|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|');
  for (const s of scenarios) {
    const c = s.colloquy;
    const b = s.baseline;
    out.push(
      `| ${s.endpoint} | ${s.stream ? 'yes' : 'no'} | ${s.concurrency} | ${fmt(c.cpuPerReqUs, 0)} | ${fmt(b.cpuPerReqUs, 0)} | ${ratio(c.cpuPerReqUs, b.cpuPerReqUs)} | ${fmt(c.peakRssMb)} | ${fmt(b.peakRssMb)} | ${ratio(c.peakRssMb, b.peakRssMb)} | ${fmt(c.hwmMb)} | ${fmt(c.postgresCpuPerReqUs, 0)} | ${pct(c.serverCoreBusy)} / ${pct(b.serverCoreBusy)} | ${pct(c.core1Busy)} / ${pct(b.core1Busy)} | ${pct(c.core0BusyAll)} / ${pct(c.core1BusyAll)} · ${pct(b.core0BusyAll)} / ${pct(b.core1BusyAll)} | ${fmt(c.foreignCores, 2)} / ${fmt(b.foreignCores, 2)} |`,
    );
  }
  out.push('');
  out.push('Core 1 busy = (stand-in + load generator CPU) / wall time; near 100% the load side, not the server, limits the figures.');
  out.push('Postgres CPU/req sums every `postgres` process on the machine (not pinned: it shares both cores).');
  out.push(
    '"Other processes": CPU the machine ran outside the bench\'s processes during the window (a measurement is retried while it exceeds 0.1 core).',
  );
  out.push('"All processes" comes from /proc/stat (includes PostgreSQL, the idle other server and anything else running).', '');
  return out.join('\n');
}
