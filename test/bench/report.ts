/** The bench's scenarios, its one table, the issue's targets, and the Markdown report. */

/** Content chunks of each streamed answer from the stand-in (the issue's figures are for 20). */
export const STREAM_CONTENT_CHUNKS = 20;

export type ServerKind = 'baseline' | 'postgres' | 'embedded';
export const SERVER_KINDS: readonly ServerKind[] = ['baseline', 'postgres', 'embedded'];
export const SERVER_LABEL: Record<ServerKind, string> = {
  baseline: 'bare pass-through',
  postgres: 'Colloquy on PostgreSQL',
  embedded: 'Colloquy embedded (PGlite)',
};
const SHORT: Record<ServerKind, string> = { baseline: 'pass-through', postgres: 'PostgreSQL', embedded: 'embedded' };

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
  /** CPU of the other (idle) servers on the same core / wall time: should be ~0. */
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
  /** Highest VmRSS sampled every 100 ms from the first request (warm-up included) to the end of the window. */
  peakRssMb: number;
  hwmMb: number;
}

export type ScenarioId =
  'v1-ns-16' | 'v1-stream-16' | 'v1-stream-1' | 'chat-ns-1' | 'chat-ns-16' | 'chat-ns-16-keys' | 'chat-stream-16' | 'v1-stream-64' | 'chat-stream-64';

export interface ScenarioSpec {
  id: ScenarioId;
  endpoint: '/v1/chat/completions' | '/chat';
  stream: boolean;
  concurrency: number;
  /** Each client with its own key (of its own user) instead of all on the one service key. */
  distinctKeys: boolean;
  /** Measured on the pass-through too (a pass-through has no keys: the distinct-keys scenario is colloquy's alone). */
  baseline: boolean;
}

/** In the order they run; every server measured in a scenario before the next one starts. */
export const SCENARIOS: readonly ScenarioSpec[] = [
  { id: 'v1-ns-16', endpoint: '/v1/chat/completions', stream: false, concurrency: 16, distinctKeys: false, baseline: true },
  { id: 'v1-stream-16', endpoint: '/v1/chat/completions', stream: true, concurrency: 16, distinctKeys: false, baseline: true },
  { id: 'v1-stream-1', endpoint: '/v1/chat/completions', stream: true, concurrency: 1, distinctKeys: false, baseline: true },
  { id: 'chat-ns-1', endpoint: '/chat', stream: false, concurrency: 1, distinctKeys: false, baseline: true },
  { id: 'chat-ns-16', endpoint: '/chat', stream: false, concurrency: 16, distinctKeys: false, baseline: true },
  { id: 'chat-ns-16-keys', endpoint: '/chat', stream: false, concurrency: 16, distinctKeys: true, baseline: false },
  { id: 'chat-stream-16', endpoint: '/chat', stream: true, concurrency: 16, distinctKeys: false, baseline: true },
  { id: 'v1-stream-64', endpoint: '/v1/chat/completions', stream: true, concurrency: 64, distinctKeys: false, baseline: true },
  { id: 'chat-stream-64', endpoint: '/chat', stream: true, concurrency: 64, distinctKeys: false, baseline: true },
];

export function scenarioTitle(s: ScenarioSpec): string {
  const clients = `${s.concurrency} client${s.concurrency === 1 ? '' : 's'}`;
  const keys = s.endpoint === '/chat' ? (s.distinctKeys ? `, ${s.concurrency} distinct keys` : ', one key') : '';
  return `POST ${s.endpoint} ${s.stream ? 'stream' : 'non-stream'}, ${clients}${keys}`;
}

export interface BenchResults {
  /** Servers run (the PostgreSQL colloquy only when DATABASE_URL is set). */
  measured: ServerKind[];
  figures: Partial<Record<ScenarioId, Partial<Record<ServerKind, Figures>>>>;
  /** VmRSS after start and priming, once settled (the figure the target judges). */
  idleRssMb: Partial<Record<ServerKind, number>>;
  /** VmRSS once idle again after the last scenario (for information: what the load left behind). */
  endRssMb: Partial<Record<ServerKind, number>>;
  foreignLimit: number;
}

export interface TargetCheck {
  name: string;
  status: 'PASS' | 'MISS' | 'NOT MEASURED';
  detail: string;
}

// The issue's targets (issue 12).
const T = {
  v1RpsRatio: 0.5,
  v1CpuUs: 200,
  embeddedWithin: 0.2,
  streamRatio: 0.5,
  ttfcP50Ms: 1,
  ttfcP99Ms: 3,
  chatVsPassThrough: 0.2,
  chatScaling: 6,
  /** "The same or better": measurement noise of a few percent still counts as the same. */
  keysSame: 0.95,
  chatStreamRatio: 0.5,
  idleRssPg: 200,
  idleRssEmbedded: 350,
  peakRssPg: 300,
};

function num(n: number | null | undefined, digits = 0): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** Two significant decimals below 10, one below 100, none above: 0.56, 4.2, 126. */
function ms(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  return num(n, n < 10 ? 2 : n < 100 ? 1 : 0);
}

function times(a: number | null | undefined, b: number | null | undefined): string {
  if (a === null || a === undefined || b === null || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return '—';
  return `${(a / b).toFixed(2)}×`;
}

function delta(a: number | null | undefined, b: number | null | undefined): string {
  if (a === null || a === undefined || b === null || b === undefined || !Number.isFinite(a) || !Number.isFinite(b)) return '—';
  const d = a - b;
  return `${d >= 0 ? '+' : '−'}${Math.abs(d).toFixed(2)}`;
}

function pct(n: number): string {
  return Number.isFinite(n) ? `${Math.round(n * 100)}%` : '—';
}

/** The bench's own processes on core 1 (stand-in + load generator) nearly saturated it: the load side, not the server, may cap the figure. */
function loadBound(f: Figures): boolean {
  return f.core1Busy > 0.9;
}

type Get = (id: ScenarioId, kind: ServerKind) => Figures | undefined;

function getter(r: BenchResults): Get {
  return (id, kind) => r.figures[id]?.[kind];
}

/** A figure's marks: errors fail it, foreign load past the limit (after the retries) makes it doubtful. */
function mark(r: BenchResults, f: Figures | undefined): string {
  if (!f) return '';
  return `${f.errors ? ' **FAILED**' : ''}${f.foreignCores > r.foreignLimit ? ' †' : ''}${loadBound(f) ? ' ‡' : ''}`;
}

// ---------------------------------------------------------------------------------------------
// The table

interface Row {
  figure: string;
  cell: (kind: ServerKind) => string;
}

function rows(r: BenchResults): Row[] {
  const get = getter(r);
  const pass = (id: ScenarioId) => get(id, 'baseline');
  const cellOf =
    (id: ScenarioId, show: (f: Figures, kind: ServerKind) => string) =>
    (kind: ServerKind): string => {
      const f = get(id, kind);
      return f ? `${show(f, kind)}${mark(r, f)}` : '';
    };
  const rss = (mb: number | undefined) => (mb === undefined ? '' : `${num(mb)} MB`);
  return [
    {
      figure: '`/v1/chat/completions` non-stream, 16 clients, req/s',
      cell: cellOf('v1-ns-16', (f, k) => (k === 'baseline' ? num(f.rps) : `${num(f.rps)} (${times(f.rps, pass('v1-ns-16')?.rps)})`)),
    },
    { figure: 'same, server CPU per request', cell: cellOf('v1-ns-16', (f) => `${num(f.cpuPerReqUs)} µs`) },
    {
      figure: '`/v1` stream (20 chunks), 16 clients, req/s',
      cell: cellOf('v1-stream-16', (f, k) => (k === 'baseline' ? num(f.rps) : `${num(f.rps)} (${times(f.rps, pass('v1-stream-16')?.rps)})`)),
    },
    {
      figure: '`/v1` stream, 1 client, first chunk p50 / p99 (Δ over pass-through)',
      cell: cellOf('v1-stream-1', (f, k) => {
        const base = `${ms(f.ttfcP50)} / ${ms(f.ttfcP99)} ms`;
        const b = pass('v1-stream-1');
        return k === 'baseline' ? base : `${base} (Δ ${delta(f.ttfcP50, b?.ttfcP50)} / ${delta(f.ttfcP99, b?.ttfcP99)})`;
      }),
    },
    { figure: '`/v1` stream, 1 client, p50 to last byte', cell: cellOf('v1-stream-1', (f) => `${ms(f.p50)} ms`) },
    { figure: '`/chat` non-stream, 1 client, one key, req/s (p50)', cell: cellOf('chat-ns-1', (f) => `${num(f.rps)} (${ms(f.p50)} ms)`) },
    {
      figure: '`/chat` non-stream, 16 clients, one key, req/s (p50)',
      cell: cellOf('chat-ns-16', (f, k) => {
        const base = `${num(f.rps)} (${ms(f.p50)} ms)`;
        if (k === 'baseline') return base;
        return `${base}; ${times(f.rps, get('chat-ns-1', k)?.rps)} its 1-client, ${times(f.rps, pass('v1-ns-16')?.rps)} pass-through /v1`;
      }),
    },
    {
      figure: '`/chat` non-stream, 16 clients, 16 distinct keys, req/s (p50)',
      cell: cellOf('chat-ns-16-keys', (f, k) => `${num(f.rps)} (${ms(f.p50)} ms); ${times(f.rps, get('chat-ns-16', k)?.rps)} one key`),
    },
    {
      figure: '`/chat` stream, 16 clients, one key, req/s',
      cell: cellOf('chat-stream-16', (f, k) =>
        k === 'baseline' ? num(f.rps) : `${num(f.rps)} (${times(f.rps, get('chat-ns-16', k)?.rps)} /chat non-stream)`,
      ),
    },
    { figure: 'RSS idle (after start and priming, settled)', cell: (k) => rss(r.idleRssMb[k]) },
    { figure: 'RSS peak, 64 `/v1` streams', cell: cellOf('v1-stream-64', (f) => rss(f.peakRssMb)) },
    { figure: 'RSS peak, 64 `/chat` streams', cell: cellOf('chat-stream-64', (f) => rss(f.peakRssMb)) },
    { figure: 'RSS idle again after the last scenario (for information)', cell: (k) => rss(r.endRssMb[k]) },
  ];
}

/** The issue's table: one row per figure, one column per server; a server not run reads "not measured". */
export function renderTable(r: BenchResults): string {
  const header = ['figure', ...SERVER_KINDS.map((k) => SERVER_LABEL[k])];
  const body = rows(r).map((row) => [row.figure, ...SERVER_KINDS.map((k) => (r.measured.includes(k) ? row.cell(k) || '—' : 'not measured'))]);
  const all = [header, ...body];
  const widths = header.map((_, i) => Math.max(...all.map((cells) => cells[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  const legend =
    '† disturbed by other processes (after the retries); ‡ core 1 over 90% busy: the load side may cap the figure; **FAILED**: request errors';
  return [line(header), rule, ...body.map(line), '', legend].join('\n');
}

// ---------------------------------------------------------------------------------------------
// Targets

export function checkTargets(r: BenchResults): TargetCheck[] {
  const get = getter(r);
  const checks: TargetCheck[] = [];
  /** `need` figures measured, none failed: judge `ok`; otherwise NOT MEASURED or MISS (errors). */
  const check = (name: string, need: Array<Figures | undefined>, ok: () => boolean, detail: () => string): void => {
    if (need.some((f) => !f)) {
      checks.push({ name, status: 'NOT MEASURED', detail: r.measured.includes('postgres') ? '' : 'run with DATABASE_URL set' });
      return;
    }
    const errors = need.reduce((sum, f) => sum + f!.errors, 0);
    const doubtful = need.some((f) => f!.foreignCores > r.foreignLimit);
    const text = `${detail()}${errors ? `; ${errors} request errors` : ''}${doubtful ? '; † disturbed by other processes' : ''}`;
    checks.push({ name, status: !errors && ok() ? 'PASS' : 'MISS', detail: text });
  };
  const b = (id: ScenarioId) => get(id, 'baseline');
  const pg = (id: ScenarioId) => get(id, 'postgres');
  const em = (id: ScenarioId) => get(id, 'embedded');
  const rps = (f: Figures | undefined) => f?.rps ?? NaN;

  check(
    `PostgreSQL: /v1 non-stream, 16 clients: req/s ≥ ${T.v1RpsRatio}× pass-through`,
    [pg('v1-ns-16'), b('v1-ns-16')],
    () => rps(pg('v1-ns-16')) >= T.v1RpsRatio * rps(b('v1-ns-16')),
    () => `${num(rps(pg('v1-ns-16')))} vs ${num(rps(b('v1-ns-16')))} req/s = ${times(rps(pg('v1-ns-16')), rps(b('v1-ns-16')))}`,
  );
  check(
    `PostgreSQL: /v1 non-stream, 16 clients: server CPU ≤ ${T.v1CpuUs} µs/request`,
    [pg('v1-ns-16')],
    () => pg('v1-ns-16')!.cpuPerReqUs <= T.v1CpuUs,
    () => `${num(pg('v1-ns-16')?.cpuPerReqUs)} µs (pass-through ${num(b('v1-ns-16')?.cpuPerReqUs)} µs)`,
  );
  check(
    `embedded: /v1 non-stream, 16 clients: req/s within ${T.embeddedWithin * 100}% of PostgreSQL's (≥ ${1 - T.embeddedWithin}×)`,
    [em('v1-ns-16'), pg('v1-ns-16')],
    () => rps(em('v1-ns-16')) >= (1 - T.embeddedWithin) * rps(pg('v1-ns-16')),
    () => `${num(rps(em('v1-ns-16')))} vs ${num(rps(pg('v1-ns-16')))} req/s = ${times(rps(em('v1-ns-16')), rps(pg('v1-ns-16')))}`,
  );
  check(
    `embedded: /v1 non-stream, 16 clients: server CPU within ${T.embeddedWithin * 100}% of PostgreSQL's (≤ ${1 + T.embeddedWithin}×)`,
    [em('v1-ns-16'), pg('v1-ns-16')],
    () => em('v1-ns-16')!.cpuPerReqUs <= (1 + T.embeddedWithin) * pg('v1-ns-16')!.cpuPerReqUs,
    () =>
      `${num(em('v1-ns-16')?.cpuPerReqUs)} vs ${num(pg('v1-ns-16')?.cpuPerReqUs)} µs = ${times(em('v1-ns-16')?.cpuPerReqUs, pg('v1-ns-16')?.cpuPerReqUs)}`,
  );
  check(
    `PostgreSQL: /v1 stream (20 chunks), 16 clients: req/s ≥ ${T.streamRatio}× pass-through`,
    [pg('v1-stream-16'), b('v1-stream-16')],
    () => rps(pg('v1-stream-16')) >= T.streamRatio * rps(b('v1-stream-16')),
    () => `${num(rps(pg('v1-stream-16')))} vs ${num(rps(b('v1-stream-16')))} req/s = ${times(rps(pg('v1-stream-16')), rps(b('v1-stream-16')))}`,
  );
  const ttfc = (p: 'ttfcP50' | 'ttfcP99', limit: number, label: string) =>
    check(
      `PostgreSQL: /v1 stream, 1 client: first chunk ${label} ≤ pass-through + ${limit} ms`,
      [pg('v1-stream-1'), b('v1-stream-1')],
      () => (pg('v1-stream-1')![p] ?? NaN) - (b('v1-stream-1')![p] ?? NaN) <= limit,
      () => `${ms(pg('v1-stream-1')?.[p])} vs ${ms(b('v1-stream-1')?.[p])} ms: Δ ${delta(pg('v1-stream-1')?.[p], b('v1-stream-1')?.[p])} ms`,
    );
  ttfc('ttfcP50', T.ttfcP50Ms, 'p50');
  ttfc('ttfcP99', T.ttfcP99Ms, 'p99');
  check(
    `PostgreSQL: /chat non-stream, 16 clients, one key: req/s ≥ ${T.chatVsPassThrough}× pass-through /v1 non-stream 16`,
    [pg('chat-ns-16'), b('v1-ns-16')],
    () => rps(pg('chat-ns-16')) >= T.chatVsPassThrough * rps(b('v1-ns-16')),
    () => `${num(rps(pg('chat-ns-16')))} vs ${num(rps(b('v1-ns-16')))} req/s = ${times(rps(pg('chat-ns-16')), rps(b('v1-ns-16')))}`,
  );
  check(
    `PostgreSQL: /chat non-stream, one key: 16 clients ≥ ${T.chatScaling}× its 1-client req/s`,
    [pg('chat-ns-16'), pg('chat-ns-1')],
    () => rps(pg('chat-ns-16')) >= T.chatScaling * rps(pg('chat-ns-1')),
    () => `${num(rps(pg('chat-ns-16')))} vs ${num(rps(pg('chat-ns-1')))} req/s = ${times(rps(pg('chat-ns-16')), rps(pg('chat-ns-1')))}`,
  );
  check(
    `PostgreSQL: /chat non-stream, 16 clients: 16 distinct keys the same as one key or better (≥ ${T.keysSame}×)`,
    [pg('chat-ns-16-keys'), pg('chat-ns-16')],
    () => rps(pg('chat-ns-16-keys')) >= T.keysSame * rps(pg('chat-ns-16')),
    () => `${num(rps(pg('chat-ns-16-keys')))} vs ${num(rps(pg('chat-ns-16')))} req/s = ${times(rps(pg('chat-ns-16-keys')), rps(pg('chat-ns-16')))}`,
  );
  check(
    `PostgreSQL: /chat stream, 16 clients, one key: req/s ≥ ${T.chatStreamRatio}× /chat non-stream 16`,
    [pg('chat-stream-16'), pg('chat-ns-16')],
    () => rps(pg('chat-stream-16')) >= T.chatStreamRatio * rps(pg('chat-ns-16')),
    () => `${num(rps(pg('chat-stream-16')))} vs ${num(rps(pg('chat-ns-16')))} req/s = ${times(rps(pg('chat-stream-16')), rps(pg('chat-ns-16')))}`,
  );
  const idle = (kind: 'postgres' | 'embedded', limit: number) => {
    const mb = r.idleRssMb[kind];
    const name = `${SHORT[kind]}: idle RSS ≤ ${limit} MB`;
    if (mb === undefined) checks.push({ name, status: 'NOT MEASURED', detail: kind === 'postgres' ? 'run with DATABASE_URL set' : '' });
    else checks.push({ name, status: mb <= limit ? 'PASS' : 'MISS', detail: `${num(mb)} MB (pass-through ${num(r.idleRssMb.baseline)} MB)` });
  };
  idle('postgres', T.idleRssPg);
  idle('embedded', T.idleRssEmbedded);
  check(
    `PostgreSQL: peak RSS under 64 concurrent /v1 streams ≤ ${T.peakRssPg} MB`,
    [pg('v1-stream-64')],
    () => pg('v1-stream-64')!.peakRssMb <= T.peakRssPg,
    () => `${num(pg('v1-stream-64')?.peakRssMb)} MB (64 /chat streams, for information: ${num(pg('chat-stream-64')?.peakRssMb)} MB)`,
  );
  return checks;
}

export function renderTargets(targets: TargetCheck[]): string {
  const width = Math.max(...targets.map((t) => t.status.length));
  return [
    'Targets (issue 12; each colloquy on one core, metering persisted):',
    ...targets.map((t) => `  ${t.status.padEnd(width)}  ${t.name}${t.detail ? `\n  ${' '.repeat(width)}    ${t.detail}` : ''}`),
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------
// Details of each measurement

const DETAIL_HEADER = [
  'scenario',
  'server',
  'req/s',
  'p50 ms',
  'p99 ms',
  'first chunk p50 / p99 ms',
  'server CPU µs/req',
  'postgres CPU µs/req',
  'peak RSS MB',
  'core 0: server',
  'core 0: idle servers',
  'core 1: stand-in + loadgen',
  'cores 0 / 1, all processes',
  'other processes (cores)',
  'ok / errors',
];

function detailCells(r: BenchResults, spec: ScenarioSpec, kind: ServerKind, f: Figures): string[] {
  return [
    scenarioTitle(spec),
    SHORT[kind],
    num(f.rps),
    ms(f.p50),
    ms(f.p99),
    spec.stream ? `${ms(f.ttfcP50)} / ${ms(f.ttfcP99)}` : '',
    num(f.cpuPerReqUs),
    num(f.postgresCpuPerReqUs),
    num(f.peakRssMb),
    pct(f.serverCoreBusy),
    pct(f.otherServerBusy),
    pct(f.core1Busy),
    `${pct(f.core0BusyAll)} / ${pct(f.core1BusyAll)}`,
    `${num(f.foreignCores, 2)}${f.attempts > 1 ? ` (${f.attempts} tries)` : ''}${f.foreignCores > r.foreignLimit ? ' †' : ''}`,
    `${f.ok} / ${f.errors}${f.errors ? ' **FAILED**' : ''}`,
  ];
}

/** One scenario's measurements, for the console as it goes. */
export function renderScenario(r: BenchResults, spec: ScenarioSpec): string {
  const lines = [`\n${scenarioTitle(spec)}`];
  for (const kind of SERVER_KINDS) {
    const f = r.figures[spec.id]?.[kind];
    if (!f) continue;
    const ttfc = spec.stream ? `  first chunk p50 ${ms(f.ttfcP50)} p99 ${ms(f.ttfcP99)} ms` : '';
    lines.push(
      `  ${SHORT[kind].padEnd(12)} ${num(f.rps).padStart(7)} req/s  p50 ${ms(f.p50)} p99 ${ms(f.p99)} ms${ttfc}  CPU ${num(f.cpuPerReqUs)} µs/req` +
        `${f.postgresCpuPerReqUs !== null ? ` (+ postgres ${num(f.postgresCpuPerReqUs)})` : ''}  peak RSS ${num(f.peakRssMb)} MB` +
        `  core 1 ${pct(f.core1Busy)}  idle servers ${pct(f.otherServerBusy)}  other processes ${num(f.foreignCores, 2)}` +
        `${f.attempts > 1 ? ` (${f.attempts} tries)` : ''}  ok ${f.ok} errors ${f.errors}`,
    );
    if (f.errors) lines.push(`  *** FAILED: ${SHORT[kind]}: ${f.errors} errors, e.g. ${f.errorSamples.join(' | ')}`);
    if (Math.max(f.core1Busy, f.core1BusyAll) > 0.9)
      lines.push(`  note: core 1 (stand-in + load generator) was ${pct(f.core1BusyAll)} busy: the load side may cap this figure`);
    if (f.otherServerBusy > 0.05) lines.push(`  note: the idle servers on core 0 used ${pct(f.otherServerBusy)} of it (background work)`);
    if (f.foreignCores > r.foreignLimit)
      lines.push(`  WARNING: processes outside the bench used ${num(f.foreignCores, 2)} cores: this figure is disturbed`);
  }
  return lines.join('\n');
}

export interface ReportMeta {
  date: string;
  node: string;
  cpu: string;
  cores: number;
  databases: string;
  measureSeconds: number;
  warmupSeconds: number;
  quick: boolean;
  pinning: string;
  standIn: string;
  standInContentChunks: number;
  durationSeconds: number;
}

export function renderMarkdown(meta: ReportMeta, r: BenchResults, targets: TargetCheck[]): string {
  const out: string[] = [];
  out.push('# colloquy bench results', '');
  out.push(`- date: ${meta.date}; whole run ${Math.round(meta.durationSeconds)} s`);
  out.push(`- node: ${meta.node}; CPU: ${meta.cpu} (${meta.cores} cores)`);
  out.push(`- databases: ${meta.databases}`);
  out.push(
    `- per measurement: ${meta.warmupSeconds} s warm-up, ${meta.measureSeconds} s measured${meta.quick ? ' (**BENCH_QUICK smoke run: figures are rough**)' : ''}`,
  );
  out.push(`- pinning: ${meta.pinning}`);
  out.push(
    `- upstream: ${meta.standIn}, no latency, ${meta.standInContentChunks} content chunks per stream; pass-through: test/bench/baseline-proxy.ts`,
  );
  out.push('- closed-loop clients on keep-alive connections; (n×) = ratio to the pass-through unless named; Δ = colloquy − pass-through, ms');
  const disturbed = SCENARIOS.flatMap((s) =>
    SERVER_KINDS.filter((k) => (r.figures[s.id]?.[k]?.foreignCores ?? 0) > r.foreignLimit).map((k) => `${SHORT[k]} ${scenarioTitle(s)}`),
  );
  out.push(
    disturbed.length
      ? `- **† disturbed by other processes on the machine (> ${r.foreignLimit} core after retries):** ${disturbed.join('; ')}`
      : `- no measurement was disturbed by other processes (each under ${r.foreignLimit} core)`,
  );
  const bound = SCENARIOS.flatMap((s) =>
    SERVER_KINDS.filter((k) => {
      const f = r.figures[s.id]?.[k];
      return f !== undefined && loadBound(f);
    }).map((k) => `${SHORT[k]} ${scenarioTitle(s)}`),
  );
  out.push(
    bound.length
      ? `- ‡ core 1 (stand-in + load generator) over 90% busy, so the load side may cap the figure: ${bound.join('; ')}`
      : '- the load side (core 1) stayed under 90% busy in every measurement',
    '',
  );
  out.push(renderTable(r), '');
  out.push('```', renderTargets(targets), '```', '');
  out.push('## Each measurement', '');
  out.push(
    `| ${DETAIL_HEADER.join(' | ')} |`,
    `|---|---|${DETAIL_HEADER.slice(2)
      .map(() => '--:')
      .join('|')}|`,
  );
  for (const spec of SCENARIOS) {
    for (const kind of SERVER_KINDS) {
      const f = r.figures[spec.id]?.[kind];
      if (f) out.push(`| ${detailCells(r, spec, kind, f).join(' | ')} |`);
    }
  }
  out.push('');
  out.push('Core 1 = (stand-in + load generator CPU) / wall time; near 100% the load side, not the server, limits the figure.');
  out.push('Idle servers = CPU the other servers (idle, on core 0 too) used during the window: background work left from earlier.');
  out.push('Postgres CPU/req sums every `postgres` process on the machine (not pinned: it shares both cores).');
  out.push(`"Other processes": CPU the machine ran outside the bench's processes in the window (measured again while over ${r.foreignLimit} core).`);
  out.push('"All processes" comes from /proc/stat (PostgreSQL, the idle servers and anything else running).', '');
  return out.join('\n');
}
