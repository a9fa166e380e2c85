/**
 * Offline checks of the deployment files under docker/: the Dockerfile and its .dockerignore, the
 * compose file and the Kubernetes manifests. Nothing here needs a Docker engine or a cluster; the
 * healthcheck command of the image and of compose is run for real against a local HTTP server.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, join, posix, relative, resolve } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';

// Parsed YAML is untyped by nature; the assertions below are what give it shape.
type Json = any;

const ROOT = process.cwd();
const DOCKER_DIR = join(ROOT, 'docker');
const K8S_DIR = join(DOCKER_DIR, 'k8s');
const DOCKERFILE = join(DOCKER_DIR, 'Dockerfile');
const DOCKERIGNORE = join(DOCKER_DIR, 'Dockerfile.dockerignore');
const COMPOSE = join(DOCKER_DIR, 'compose.yaml');
const DEFAULT_SHUTDOWN_GRACE_MS = 10_000; // server.shutdown_grace_ms default (.env.example)

// ---------------------------------------------------------------------------------------------
// .env.example

/** Names of real `NAME=value` assignment lines; comments (`# NAME=…`, `# Example: …`) do not count. */
export function parseEnvExampleNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split(/\r?\n/)) {
    const match = /^([A-Z][A-Z0-9_]*)=/.exec(line);
    if (match) names.add(match[1]);
  }
  return names;
}

const documented = parseEnvExampleNames(readFileSync(join(ROOT, '.env.example'), 'utf8'));

function undocumented(names: Iterable<string>): string[] {
  return [...names].filter((name) => !documented.has(name)).sort();
}

// ---------------------------------------------------------------------------------------------
// YAML

function yamlFilesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...yamlFilesUnder(path));
    else if (/\.ya?ml$/.test(entry)) out.push(path);
  }
  return out.sort();
}

/** Every document of a (possibly multi-document) YAML file; throws on any syntax error. */
function loadYamlDocuments(file: string): Json[] {
  const docs = parseAllDocuments(readFileSync(file, 'utf8'));
  if (!Array.isArray(docs)) throw new Error(`${file}: not a YAML document stream`);
  const out: Json[] = [];
  docs.forEach((doc, index) => {
    if (doc.errors.length) {
      throw new Error(`${relative(ROOT, file)} document ${index + 1}: ${doc.errors.map((e) => e.message).join('; ')}`);
    }
    const value = doc.toJS();
    if (value != null) out.push(value);
  });
  return out;
}

function orElse<T>(load: () => T, fallback: T): T {
  try {
    return load() ?? fallback;
  } catch {
    return fallback;
  }
}

// ---------------------------------------------------------------------------------------------
// Dockerfile

interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

interface Stage {
  image: string;
  name: string | null;
  instructions: Instruction[];
}

/** Instructions with line continuations joined and comment lines dropped, as Docker reads them. */
function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let buffer = '';
  let start = 0;
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, index) => {
    const trimmed = raw.trim();
    if (trimmed.startsWith('#')) return; // comments, parser directives included
    if (trimmed === '') return; // blank lines, also inside a continuation
    if (!buffer) start = index + 1;
    if (/\\\s*$/.test(raw)) {
      buffer += raw.replace(/\\\s*$/, ' ');
      return;
    }
    buffer += raw;
    const match = /^\s*([A-Za-z]+)\s+([\s\S]*)$/.exec(buffer);
    if (!match) throw new Error(`Dockerfile line ${start}: cannot read "${buffer.trim()}"`);
    out.push({ keyword: match[1].toUpperCase(), args: match[2].trim(), line: start });
    buffer = '';
  });
  if (buffer) throw new Error(`Dockerfile line ${start}: a line continuation runs past the end of the file`);
  return out;
}

function dockerfileStages(instructions: Instruction[]): { globalArgs: Map<string, string>; stages: Stage[] } {
  const globalArgs = new Map<string, string>();
  const stages: Stage[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const tokens = instruction.args.split(/\s+/).filter((t) => !t.startsWith('--'));
      const image = tokens[0].replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a: string, b: string) => globalArgs.get(a ?? b) ?? '');
      const asIndex = tokens.findIndex((t) => t.toUpperCase() === 'AS');
      stages.push({ image, name: asIndex >= 0 ? tokens[asIndex + 1] : null, instructions: [] });
    } else if (stages.length === 0) {
      if (instruction.keyword !== 'ARG') throw new Error(`Dockerfile line ${instruction.line}: only ARG may precede FROM`);
      const [name, value = ''] = instruction.args.split('=', 2);
      globalArgs.set(name.trim(), value.trim().replace(/^["']|["']$/g, ''));
    } else {
      stages[stages.length - 1].instructions.push(instruction);
    }
  }
  return { globalArgs, stages };
}

interface Copy {
  from: string | null;
  sources: string[];
  dest: string;
}

function parseCopy(args: string): Copy {
  if (args.replace(/^(--\S+\s+)*/, '').startsWith('[')) throw new Error(`COPY in JSON form is not supported here: ${args}`);
  const tokens = args.split(/\s+/);
  const flags = tokens.filter((t) => t.startsWith('--'));
  const paths = tokens.filter((t) => !t.startsWith('--'));
  const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length) ?? null;
  return { from, sources: paths.slice(0, -1), dest: paths[paths.length - 1] };
}

/** `ENV A=1 B="two"` and the legacy `ENV A 1` form. */
function parseEnv(args: string): Map<string, string> {
  const vars = new Map<string, string>();
  if (!args.includes('=')) {
    const [name, ...rest] = args.split(/\s+/);
    vars.set(name, rest.join(' '));
    return vars;
  }
  for (const match of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|'[^']*'|\S*)/g)) {
    vars.set(match[1], match[2].replace(/^(["'])([\s\S]*)\1$/, '$2'));
  }
  return vars;
}

/** The exec-form command of `HEALTHCHECK [--options] CMD [...]`. */
function healthcheckCommand(args: string): string[] {
  const match = /^(?:--[a-z-]+=\S+\s+)*CMD\s+(\[[\s\S]*\])\s*$/i.exec(args);
  if (!match) throw new Error(`HEALTHCHECK must use the exec form CMD [...]: ${args}`);
  return JSON.parse(match[1]) as string[];
}

// ---------------------------------------------------------------------------------------------
// .dockerignore: Docker's pattern rules, enough for the patterns this repository uses.

function globToRegExp(glob: string): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*' && glob[i + 1] === '*') {
      if (glob[i + 2] === '/') {
        source += '(?:.*/)?';
        i += 2;
      } else {
        source += '.*';
        i += 1;
      }
    } else if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else source += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

/** Whether a context-relative path is left out: the last rule matching it or a parent decides. */
function dockerignoreMatcher(text: string): (path: string) => boolean {
  const rules = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const negate = line.startsWith('!');
      const pattern = posix.normalize((negate ? line.slice(1) : line).trim()).replace(/^\/+|\/+$/g, '');
      return { negate, re: globToRegExp(pattern) };
    });
  return (path: string) => {
    const parts = posix.normalize(path).replace(/^\.\//, '').split('/');
    let ignored = false;
    for (const rule of rules) {
      for (let i = 1; i <= parts.length; i++) {
        if (rule.re.test(parts.slice(0, i).join('/'))) {
          ignored = !rule.negate;
          break;
        }
      }
    }
    return ignored;
  };
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...filesUnder(path));
    else out.push(path);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Running a healthcheck command against a local server

interface Probe {
  url: string;
  port: number;
  paths: string[];
  close: () => Promise<void>;
}

async function startProbeTarget(status: number): Promise<Probe> {
  const paths: string[] = [];
  const server: Server = createServer((req, res) => {
    paths.push(req.url ?? '');
    res.statusCode = req.url === '/health/live' ? status : 404;
    res.end('{}');
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, port, paths, close: () => new Promise((done) => server.close(() => done())) };
}

async function unusedPort(): Promise<number> {
  const probe = await startProbeTarget(200);
  await probe.close();
  return probe.port;
}

/** Runs a `node …` exec-form command with PORT set; resolves with its exit code. */
function runNodeCommand(command: string[], port: number): Promise<number | null> {
  expect(command[0]).toBe('node');
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, command.slice(1), {
      env: { PATH: process.env.PATH ?? '', PORT: String(port) },
      stdio: 'ignore',
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`healthcheck command did not finish: ${command.join(' ')}`));
    }, 15_000);
    child.on('error', fail);
    child.on('exit', (code) => {
      clearTimeout(timer);
      done(code);
    });
  });
}

async function expectWorkingLivenessCommand(command: string[]): Promise<void> {
  const healthy = await startProbeTarget(200);
  try {
    expect(await runNodeCommand(command, healthy.port)).toBe(0);
    expect(healthy.paths).toEqual(['/health/live']);
  } finally {
    await healthy.close();
  }
  const failing = await startProbeTarget(503);
  try {
    expect(await runNodeCommand(command, failing.port)).toBe(1);
  } finally {
    await failing.close();
  }
  expect(await runNodeCommand(command, await unusedPort())).toBe(1);
}

// ---------------------------------------------------------------------------------------------
// Compose interpolation: ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}, $$.

function interpolate(value: string, env: Record<string, string>): string {
  return value.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?])([^}]*))?\}/g,
    (whole, name?: string, colon?: string, op?: string, arg?: string) => {
      if (whole === '$$') return '$';
      const set = name! in env;
      const usable = colon ? set && env[name!] !== '' : set;
      if (usable) return env[name!];
      if (op === '-') return arg ?? '';
      if (op === '?') throw new Error(`${name} is required: ${arg}`);
      return '';
    },
  );
}

function composeEnvironment(service: Json): Record<string, string> {
  const env = service?.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((entry: string) => {
        const index = entry.indexOf('=');
        return index < 0 ? [entry, ''] : [entry.slice(0, index), entry.slice(index + 1)];
      }),
    );
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v == null ? '' : String(v)]));
}

function composeDurationMs(value: string): number {
  let total = 0;
  const units: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001 };
  const parts = [...value.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s|us)/g)];
  if (!parts.length || parts.map((p) => p[0]).join('') !== value) throw new Error(`not a compose duration: ${value}`);
  for (const [, amount, unit] of parts) total += Number(amount) * units[unit];
  return total;
}

// ---------------------------------------------------------------------------------------------
// Kubernetes helpers

interface Manifest {
  file: string;
  doc: Json;
}

function labelsSelect(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  const entries = Object.entries(selector ?? {});
  return entries.length > 0 && entries.every(([k, v]) => labels?.[k] === v);
}

/** The container port a probe or Service targetPort names, by name or number. */
function resolvePort(container: Json, port: string | number): number | undefined {
  const ports: Json[] = container.ports ?? [];
  if (typeof port === 'number') return ports.find((p) => p.containerPort === port)?.containerPort;
  return ports.find((p) => p.name === port)?.containerPort;
}

function preStopSleepMs(container: Json): number {
  const preStop = container.lifecycle?.preStop;
  if (preStop?.sleep?.seconds != null) return Number(preStop.sleep.seconds) * 1000;
  const match = /(?:^|\s)sleep\s+(\d+(?:\.\d+)?)$/.exec((preStop?.exec?.command ?? []).join(' '));
  return match ? Number(match[1]) * 1000 : 0;
}

// =============================================================================================

describe('deployment files (docker/)', () => {
  describe('.env.example parsing', () => {
    it('counts only real NAME=value lines', () => {
      const names = parseEnvExampleNames(
        [
          '# Port (server.port).',
          'PORT=3000',
          '# Example: postgresql://u:p@h/db',
          '# COMMENTED=1',
          'EMPTY=',
          '  INDENTED=1',
          'lower=1',
          'S3_BUCKET=',
        ].join('\n'),
      );
      expect([...names].sort()).toEqual(['EMPTY', 'PORT', 'S3_BUCKET']);
    });

    it('finds the variables the deployment files rely on', () => {
      for (const name of ['PORT', 'DATA_DIR', 'DATABASE_URL', 'S3_BUCKET', 'REDIS_URL', 'COLLOQUY_ADMIN_KEY', 'SHUTDOWN_GRACE_MS', 'CONFIG_FILE']) {
        expect(documented).toContain(name);
      }
      expect(documented).not.toContain('NODE_ENV');
    });
  });

  describe('YAML', () => {
    const files = yamlFilesUnder(DOCKER_DIR);

    it('covers the compose file and the Kubernetes manifests', () => {
      const names = files.map((f) => relative(DOCKER_DIR, f));
      expect(names).toContain('compose.yaml');
      expect(names).toEqual(expect.arrayContaining(['k8s/kustomization.yaml', 'k8s/deployment.yaml', 'k8s/service.yaml']));
    });

    it.each(files.map((f) => [relative(ROOT, f), f]))('%s parses, every document', (_name, file) => {
      const docs = loadYamlDocuments(file);
      expect(docs.length).toBeGreaterThan(0);
      for (const doc of docs) expect(typeof doc).toBe('object');
    });
  });

  describe('Dockerfile', () => {
    const all = (stage: Stage, keyword: string) => stage.instructions.filter((i) => i.keyword === keyword);
    let stages: Stage[];
    let final: Stage;
    let finalEnv: Map<string, string>;

    // In beforeAll, so an unreadable Dockerfile fails these tests instead of the whole file.
    beforeAll(() => {
      stages = dockerfileStages(parseDockerfile(readFileSync(DOCKERFILE, 'utf8'))).stages;
      if (!stages.length) throw new Error('docker/Dockerfile has no FROM');
      final = stages[stages.length - 1];
      finalEnv = new Map(all(final, 'ENV').flatMap((i) => [...parseEnv(i.args)]));
    });

    it('has a build stage and a runtime stage on a Node LTS line every dependency declares (even, >= 22)', () => {
      expect(stages.length).toBeGreaterThanOrEqual(2);
      for (const stage of stages) {
        const major = Number(/^node:(\d+)/.exec(stage.image)?.[1]);
        expect(major).toBeGreaterThanOrEqual(22);
        expect(major % 2).toBe(0);
      }
    });

    it('copies from earlier stages only', () => {
      stages.forEach((stage, index) => {
        for (const copy of all(stage, 'COPY').map((i) => parseCopy(i.args))) {
          if (copy.from === null) continue;
          const earlier = stages.slice(0, index).map((s) => s.name);
          expect(earlier).toContain(copy.from);
        }
      });
    });

    it('installs, builds and prunes devDependencies in the build stage', () => {
      const fromNames = new Set(all(final, 'COPY').map((i) => parseCopy(i.args).from));
      const build = stages.find((s) => s.name !== null && fromNames.has(s.name));
      expect(build).toBeDefined();
      const runs = all(build!, 'RUN')
        .map((i) => i.args)
        .join('\n');
      const ci = runs.search(/\bnpm ci\b/);
      const buildAt = runs.search(/\bnpm run build\b/);
      const prune = runs.search(/\bnpm prune\b[^\n]*--omit=dev/);
      expect(ci).toBeGreaterThanOrEqual(0);
      expect(buildAt).toBeGreaterThan(ci);
      expect(prune).toBeGreaterThan(buildAt);
    });

    it('runs as a non-root user with a writable /app/data', () => {
      const users = all(final, 'USER').map((i) => i.args.trim());
      expect(users.length).toBeGreaterThan(0);
      const user = users[users.length - 1];
      expect(user.split(':')[0]).not.toMatch(/^(root|0)$/);
      expect(final.instructions.findIndex((i) => i.keyword === 'USER')).toBeLessThan(final.instructions.findIndex((i) => i.keyword === 'CMD'));
      expect(all(final, 'WORKDIR').map((i) => i.args)).toContain('/app');
      const runs = all(final, 'RUN')
        .map((i) => i.args)
        .join('\n');
      expect(runs).toMatch(/mkdir[^\n]*\/app\/data/);
      expect(runs).toMatch(/chown[^\n]*(node|1000)[^\n]*\/app\/data/);
    });

    it('sets NODE_ENV=production and DATA_DIR=/app/data, and otherwise only documented variables', () => {
      expect(finalEnv.get('NODE_ENV')).toBe('production');
      expect(finalEnv.get('DATA_DIR')).toBe('/app/data');
      expect(undocumented([...finalEnv.keys()].filter((k) => k !== 'NODE_ENV'))).toEqual([]);
    });

    it('ships dist, production node_modules, prisma, config and package.json', () => {
      const copies = all(final, 'COPY').map((i) => parseCopy(i.args));
      const shipped = new Set(copies.flatMap((c) => c.sources.map((s) => basename(s.replace(/\/+$/, '')))));
      for (const item of ['dist', 'node_modules', 'prisma', 'config', 'package.json']) expect(shipped).toContain(item);
      const nodeModules = copies.find((c) => c.sources.some((s) => basename(s) === 'node_modules'));
      expect(nodeModules?.from).not.toBeNull(); // the pruned tree of the build stage, never the context
    });

    it('exposes 3000, stops on SIGTERM and runs node dist/main.js', () => {
      expect(all(final, 'EXPOSE').flatMap((i) => i.args.split(/\s+/))).toContain('3000');
      expect(all(final, 'STOPSIGNAL').map((i) => i.args)).toEqual(['SIGTERM']);
      const cmds = all(final, 'CMD');
      expect(cmds).toHaveLength(1);
      expect(JSON.parse(cmds[0].args)).toEqual(['node', 'dist/main.js']);
      expect(all(final, 'ENTRYPOINT')).toHaveLength(0);
      expect(existsSync(join(ROOT, 'src/main.ts'))).toBe(true);
    });

    it('has a HEALTHCHECK on /health/live that works without curl', async () => {
      const checks = all(final, 'HEALTHCHECK');
      expect(checks).toHaveLength(1);
      const command = healthcheckCommand(checks[0].args);
      expect(command.join(' ')).toContain('/health/live');
      await expectWorkingLivenessCommand(command);
    });

    it('has a .dockerignore beside it that keeps local state out and the sources in', () => {
      const ignored = dockerignoreMatcher(readFileSync(DOCKERIGNORE, 'utf8'));
      for (const path of [
        'node_modules',
        'node_modules/x/index.js',
        'dist/main.js',
        'data/pglite/PG_VERSION',
        '.git/HEAD',
        'coverage/lcov.info',
        'test/e2e/x.e2e-spec.ts',
        'src/x/y.int-spec.ts',
        '.env',
        'src/generated/prisma/client.ts',
      ]) {
        expect([path, ignored(path)]).toEqual([path, true]);
      }
      // Every file a context COPY brings in must survive the ignore file.
      const contextSources = stages
        .flatMap((s) => all(s, 'COPY').map((i) => parseCopy(i.args)))
        .filter((c) => c.from === null)
        .flatMap((c) => c.sources);
      expect(contextSources.length).toBeGreaterThan(0);
      for (const source of contextSources) {
        const path = join(ROOT, source);
        expect([source, existsSync(path)]).toEqual([source, true]);
        const files = statSync(path).isDirectory() ? filesUnder(path).map((f) => relative(ROOT, f).split('\\').join('/')) : [source];
        const needed = files.filter((f) => !f.startsWith('src/generated/') && !/\.(int-)?spec\.ts$/.test(f));
        expect(needed.length).toBeGreaterThan(0);
        expect(needed.filter(ignored)).toEqual([]);
      }
      for (const needed of ['package.json', 'package-lock.json', 'src/main.ts', 'prisma/schema.prisma', 'config/colloquy.yaml']) {
        expect([needed, contextSources.some((s) => needed === s || needed.startsWith(`${s.replace(/\/+$/, '')}/`))]).toEqual([needed, true]);
      }
      expect(filesUnder(join(ROOT, 'prisma/migrations')).length).toBeGreaterThan(0);
    });
  });

  describe('compose.yaml', () => {
    const compose: Json = orElse(() => parse(readFileSync(COMPOSE, 'utf8')), {}); // the YAML tests report errors
    const services: Record<string, Json> = compose.services ?? {};
    const app = services.app;
    const rawEnv = composeEnvironment(app);
    const hostEnv = { COLLOQUY_ADMIN_KEY: 'a-test-admin-key-0123456789' };
    const env = Object.fromEntries(Object.entries(rawEnv).map(([k, v]) => [k, interpolate(v, hostEnv)]));
    const resolved = (service: string) =>
      Object.fromEntries(Object.entries(composeEnvironment(services[service])).map(([k, v]) => [k, interpolate(v, {})]));

    it('has the app, PostgreSQL, MinIO with its bucket job, and Redis', () => {
      expect(Object.keys(services).sort()).toEqual(expect.arrayContaining(['app', 'createbucket', 'minio', 'postgres', 'redis']));
      expect(services.postgres.image).toMatch(/^postgres:16/);
      expect(services.redis.image).toMatch(/^redis:7/);
      expect(services.minio.image).toMatch(/^(quay\.io\/)?minio\/minio(:|$)/);
      expect(services.createbucket.image).toMatch(/^(quay\.io\/)?minio\/mc(:|$)/);
    });

    it('builds the app from the repository root with docker/Dockerfile', () => {
      const context = resolve(DOCKER_DIR, app.build.context);
      expect(context).toBe(ROOT);
      expect(resolve(context, app.build.dockerfile)).toBe(DOCKERFILE);
    });

    it('sets only environment variables documented in .env.example', () => {
      expect(Object.keys(rawEnv).length).toBeGreaterThan(0);
      expect(undocumented(Object.keys(rawEnv))).toEqual([]);
    });

    it('takes the admin key as required and provider keys as optional from the host', () => {
      expect(rawEnv.COLLOQUY_ADMIN_KEY).toMatch(/^\$\{COLLOQUY_ADMIN_KEY:\?[^}]+\}$/);
      expect(() => interpolate(rawEnv.COLLOQUY_ADMIN_KEY, {})).toThrow(/COLLOQUY_ADMIN_KEY/);
      for (const name of ['OPENAI_API_KEY', 'OPENROUTER_API_KEY']) expect(rawEnv[name]).toBe(`\${${name}:-}`);
    });

    it('points DATABASE_URL at the postgres service with its credentials', () => {
      const url = new URL(env.DATABASE_URL);
      const pg = resolved('postgres');
      expect(url.protocol).toMatch(/^postgres(ql)?:$/);
      expect(url.hostname).toBe('postgres');
      expect(url.port).toBe('5432');
      expect(decodeURIComponent(url.username)).toBe(pg.POSTGRES_USER);
      expect(decodeURIComponent(url.password)).toBe(pg.POSTGRES_PASSWORD);
      expect(url.pathname).toBe(`/${pg.POSTGRES_DB}`);
    });

    it('points S3 at MinIO with its root credentials and the bucket createbucket makes', () => {
      const url = new URL(env.S3_ENDPOINT);
      const minio = resolved('minio');
      expect(url.hostname).toBe('minio');
      expect(url.port).toBe('9000');
      expect(env.S3_FORCE_PATH_STYLE).toBe('true');
      expect(env.S3_ACCESS_KEY_ID).toBe(minio.MINIO_ROOT_USER);
      expect(env.S3_SECRET_ACCESS_KEY).toBe(minio.MINIO_ROOT_PASSWORD);
      expect(env.S3_BUCKET).toBeTruthy();
      const job = services.createbucket;
      const script = interpolate([job.entrypoint, job.command].flat().filter(Boolean).join(' '), {});
      expect(script).toMatch(new RegExp(`mc mb\\b[^\\n]*/${env.S3_BUCKET}(\\s|$)`));
      expect(script).toContain('http://minio:9000');
    });

    it('points REDIS_URL at the redis service', () => {
      const url = new URL(env.REDIS_URL);
      expect(url.protocol).toBe('redis:');
      expect(url.hostname).toBe('redis');
    });

    it('orders start-up on health and on the finished bucket job', () => {
      const allowed = ['service_started', 'service_healthy', 'service_completed_successfully'];
      for (const [name, service] of Object.entries(services)) {
        const deps = service.depends_on ?? {};
        const entries: Array<[string, Json]> = Array.isArray(deps) ? deps.map((d: string) => [d, {}]) : Object.entries(deps);
        for (const [dep, spec] of entries) {
          expect([name, dep, dep in services]).toEqual([name, dep, true]);
          if (spec?.condition) expect(allowed).toContain(spec.condition);
          if (spec?.condition === 'service_healthy') expect([dep, Boolean(services[dep].healthcheck?.test)]).toEqual([dep, true]);
        }
      }
      expect(app.depends_on).toMatchObject({
        postgres: { condition: 'service_healthy' },
        redis: { condition: 'service_healthy' },
        createbucket: { condition: 'service_completed_successfully' },
      });
      expect(services.createbucket.depends_on).toMatchObject({ minio: { condition: 'service_healthy' } });
      expect(services.createbucket.restart ?? 'no').toBe('no');
    });

    it('publishes port 3000 and gives in-flight requests time to finish', () => {
      const ports: Json[] = app.ports ?? [];
      const targets = ports.map((p) => (typeof p === 'object' ? String(p.target) : String(p).split(':').pop()!.split('/')[0]));
      expect(targets).toContain(String(env.PORT ?? 3000));
      const grace = Number(env.SHUTDOWN_GRACE_MS || DEFAULT_SHUTDOWN_GRACE_MS);
      expect(composeDurationMs(app.stop_grace_period ?? '10s')).toBeGreaterThan(grace);
    });

    it('has an app healthcheck on /health/live that works', async () => {
      const test: string[] = app.healthcheck?.test;
      expect(Array.isArray(test)).toBe(true);
      expect(test[0]).toBe('CMD');
      expect(test.join(' ')).toContain('/health/live');
      await expectWorkingLivenessCommand(test.slice(1).map((part) => interpolate(part, {})));
    });

    it('keeps DATA_DIR on a declared named volume', () => {
      expect(env.DATA_DIR).toBe('/app/data');
      const mounts: string[] = (app.volumes ?? []).map((v: Json) => (typeof v === 'string' ? v : `${v.source}:${v.target}`));
      expect(mounts.some((m) => m.split(':')[1] === '/app/data')).toBe(true);
      const declared = Object.keys(compose.volumes ?? {});
      for (const service of Object.values(services)) {
        for (const volume of service.volumes ?? []) {
          const source = typeof volume === 'string' ? volume.split(':')[0] : volume.source;
          if (/^[./~]/.test(source)) continue; // bind mounts
          expect(declared).toContain(source);
        }
      }
    });
  });

  describe('Kubernetes manifests (docker/k8s)', () => {
    const files = yamlFilesUnder(K8S_DIR);
    const manifestFiles = files.filter((f) => basename(f) !== 'kustomization.yaml');
    // Unparseable files count as empty here; the YAML tests above report them.
    const manifests: Manifest[] = manifestFiles.flatMap((file) => orElse(() => loadYamlDocuments(file), []).map((doc) => ({ file, doc })));
    const ofKind = (kind: string) => manifests.filter((m) => m.doc.kind === kind);
    const one = (kind: string): Json => {
      const found = ofKind(kind);
      if (found.length !== 1) throw new Error(`expected exactly one ${kind} in docker/k8s, found ${found.length}`);
      return found[0].doc;
    };
    const kustomization: Json = orElse(() => parse(readFileSync(join(K8S_DIR, 'kustomization.yaml'), 'utf8')), {});
    const configMaps = ofKind('ConfigMap').map((m) => m.doc);
    const secrets = ofKind('Secret').map((m) => m.doc);
    const envConfig: Record<string, string> = Object.assign({}, ...configMaps.map((c) => c.data ?? {}));

    it('every manifest has apiVersion, kind and metadata.name', () => {
      expect(manifests.length).toBeGreaterThanOrEqual(5);
      for (const { file, doc } of manifests) {
        expect([basename(file), typeof doc.apiVersion, typeof doc.kind, typeof doc.metadata?.name]).toEqual([
          basename(file),
          'string',
          'string',
          'string',
        ]);
      }
    });

    it('the kustomization lists every manifest except the example Secret', () => {
      expect(kustomization.kind).toBe('Kustomization');
      const listed: string[] = kustomization.resources ?? [];
      for (const resource of listed) expect([resource, existsSync(join(K8S_DIR, resource))]).toEqual([resource, true]);
      const expected = manifestFiles.map((f) => basename(f)).filter((f) => !/\.example\.ya?ml$/.test(f));
      expect([...listed].sort()).toEqual(expected.sort());
      expect(listed.some((r) => /\.example\.ya?ml$/.test(r))).toBe(false);
    });

    it('ConfigMap and Secret keys are documented variables with string values', () => {
      expect(configMaps.length).toBeGreaterThan(0);
      expect(secrets.length).toBeGreaterThan(0);
      for (const doc of [...configMaps, ...secrets]) {
        const data = { ...(doc.data ?? {}), ...(doc.stringData ?? {}) };
        expect(Object.keys(data).length).toBeGreaterThan(0);
        expect([doc.metadata.name, undocumented(Object.keys(data))]).toEqual([doc.metadata.name, []]);
        for (const [key, value] of Object.entries(data)) expect([key, typeof value]).toEqual([key, 'string']);
      }
    });

    it('the example Secret holds the secrets, as placeholders only', () => {
      const example = ofKind('Secret').filter((m) => /\.example\.ya?ml$/.test(m.file));
      expect(example).toHaveLength(1);
      const secret = example[0].doc;
      expect(secret.data).toBeUndefined();
      const values: Record<string, string> = secret.stringData;
      for (const key of [
        'DATABASE_URL',
        'COLLOQUY_ADMIN_KEY',
        'S3_ACCESS_KEY_ID',
        'S3_SECRET_ACCESS_KEY',
        'REDIS_URL',
        'OPENAI_API_KEY',
        'METRICS_TOKEN',
      ]) {
        expect(values).toHaveProperty(key);
      }
      for (const [key, value] of Object.entries(values)) expect([key, /CHANGE-ME/.test(value)]).toEqual([key, true]);
      expect(values.COLLOQUY_ADMIN_KEY).toMatch(/^[\x21-\x7e]{16,256}$/);
      // Applied with kubectl apply -f, outside the kustomization: it must name the same namespace.
      expect(secret.metadata.namespace).toBe(kustomization.namespace);
      // Secret-looking values stay out of the ConfigMaps.
      for (const key of Object.keys(envConfig)) expect(Object.keys(values)).not.toContain(key);
    });

    describe('Deployment', () => {
      let deployment: Json;
      let pod: Json;
      let container: Json;
      let service: Json;

      beforeAll(() => {
        deployment = one('Deployment');
        pod = deployment.spec.template.spec;
        container = pod.containers[0];
        service = one('Service');
      });

      it('runs two or more replicas with a zero-downtime rolling update', () => {
        expect(deployment.apiVersion).toBe('apps/v1');
        expect(deployment.spec.replicas).toBeGreaterThanOrEqual(2);
        expect(deployment.spec.strategy.type).toBe('RollingUpdate');
        expect(deployment.spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
        expect(labelsSelect(deployment.spec.selector.matchLabels, deployment.spec.template.metadata.labels)).toBe(true);
        expect(pod.containers).toHaveLength(1);
        expect(container.image).toBeTruthy();
      });

      it('probes liveness on /health/live and readiness on /health/ready, on the serving port', () => {
        expect(container.livenessProbe.httpGet.path).toBe('/health/live');
        expect(container.readinessProbe.httpGet.path).toBe('/health/ready');
        if (container.startupProbe) expect(container.startupProbe.httpGet.path).toBe('/health/live');
        const port = Number(envConfig.PORT || 3000);
        expect(resolvePort(container, port)).toBe(port);
        for (const probe of [container.livenessProbe, container.readinessProbe, container.startupProbe].filter(Boolean)) {
          expect(resolvePort(container, probe.httpGet.port)).toBe(port);
        }
      });

      it('is reached through a ClusterIP Service, port 80 to the container port', () => {
        expect(service.spec.type ?? 'ClusterIP').toBe('ClusterIP');
        expect(labelsSelect(service.spec.selector, deployment.spec.template.metadata.labels)).toBe(true);
        const [port] = service.spec.ports;
        expect(port.port).toBe(80);
        expect(resolvePort(container, port.targetPort)).toBe(Number(envConfig.PORT || 3000));
      });

      it('takes its environment from the ConfigMap and the Secret of this folder', () => {
        const refs: Json[] = container.envFrom ?? [];
        const cm = refs.filter((r) => r.configMapRef).map((r) => r.configMapRef.name);
        const sec = refs.filter((r) => r.secretRef).map((r) => r.secretRef.name);
        expect(cm.length).toBeGreaterThan(0);
        expect(sec.length).toBeGreaterThan(0);
        for (const name of cm) expect(configMaps.map((c) => c.metadata.name)).toContain(name);
        for (const name of sec) expect(secrets.map((s) => s.metadata.name)).toContain(name);
        expect(undocumented((container.env ?? []).map((e: Json) => e.name))).toEqual([]);
      });

      it('runs non-root on a read-only root filesystem with emptyDirs for /app/data and /tmp', () => {
        const runAsNonRoot = container.securityContext?.runAsNonRoot ?? pod.securityContext?.runAsNonRoot;
        expect(runAsNonRoot).toBe(true);
        expect(container.securityContext?.runAsUser ?? pod.securityContext?.runAsUser).not.toBe(0);
        expect(container.securityContext.readOnlyRootFilesystem).toBe(true);
        expect(container.securityContext.allowPrivilegeEscalation).toBe(false);
        const volumes = new Map<string, Json>((pod.volumes ?? []).map((v: Json) => [v.name, v]));
        for (const path of ['/app/data', '/tmp']) {
          const mount = (container.volumeMounts ?? []).find((m: Json) => m.mountPath === path);
          expect([path, Boolean(mount && volumes.get(mount.name)?.emptyDir)]).toEqual([path, true]);
        }
        expect(envConfig.DATA_DIR).toBe('/app/data');
      });

      it('drains before SIGTERM and waits longer than the shutdown grace period', () => {
        const sleepMs = preStopSleepMs(container);
        expect(sleepMs).toBeGreaterThan(0);
        const grace = Number(envConfig.SHUTDOWN_GRACE_MS || DEFAULT_SHUTDOWN_GRACE_MS);
        expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan(sleepMs + grace);
      });

      it('has resource requests (the HPA scales on CPU utilisation)', () => {
        expect(container.resources?.requests?.cpu).toBeTruthy();
        expect(container.resources?.requests?.memory).toBeTruthy();
        expect(container.resources?.limits?.memory).toBeTruthy();
      });

      it('is the target of the HPA and the PDB, if present', () => {
        for (const { doc } of ofKind('HorizontalPodAutoscaler')) {
          expect(doc.spec.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: deployment.metadata.name });
          expect(doc.spec.minReplicas).toBeGreaterThanOrEqual(2);
          expect(doc.spec.maxReplicas).toBeGreaterThanOrEqual(doc.spec.minReplicas);
        }
        for (const { doc } of ofKind('PodDisruptionBudget')) {
          expect(labelsSelect(doc.spec.selector.matchLabels, deployment.spec.template.metadata.labels)).toBe(true);
        }
      });

      it('uses the image the kustomization rewrites', () => {
        const names = (kustomization.images ?? []).map((i: Json) => i.name);
        expect(names).toContain(container.image.split(':')[0]);
      });
    });

    describe('migration Job', () => {
      let job: Json;
      let container: Json;
      let server: Json;

      beforeAll(() => {
        job = one('Job');
        container = job.spec.template.spec.containers[0];
        server = one('Deployment').spec.template.spec.containers[0];
      });

      it('runs the compiled migrate command with the image and environment of the server', () => {
        expect(job.apiVersion).toBe('batch/v1');
        const command = [...(container.command ?? []), ...(container.args ?? [])];
        expect(command).toEqual(['node', 'dist/persistence/migrate.command.js']);
        expect(existsSync(join(ROOT, 'src/persistence/migrate.command.ts'))).toBe(true);
        expect(container.image).toBe(server.image);
        expect(container.envFrom).toEqual(server.envFrom);
        expect(['Never', 'OnFailure']).toContain(job.spec.template.spec.restartPolicy);
      });

      it('runs non-root on a read-only root filesystem too', () => {
        const pod = job.spec.template.spec;
        expect(container.securityContext?.runAsNonRoot ?? pod.securityContext?.runAsNonRoot).toBe(true);
        expect(container.securityContext.readOnlyRootFilesystem).toBe(true);
        const mounted = (container.volumeMounts ?? []).map((m: Json) => m.mountPath);
        expect(mounted).toEqual(expect.arrayContaining(['/app/data', '/tmp']));
      });
    });
  });

  it('has a README', () => {
    const readme = readFileSync(join(DOCKER_DIR, 'README.md'), 'utf8');
    for (const word of ['docker build', 'compose', 'kubectl']) expect(readme).toContain(word);
  });
});
