import { Injectable } from '@nestjs/common';
import { DomainError } from '../../common/errors/domain-error.js';
import { AppConfig } from '../../config/app-config.js';
import { BlobStore } from '../../storage/blob-store.js';
import { DatabaseLifecycle } from '../../persistence/database-lifecycle.service.js';
import { PrismaService } from '../../persistence/prisma.service.js';
import { RedisService } from '../../redis/redis.service.js';
import { AdminBootstrap } from '../auth/admin-bootstrap.service.js';
import { McpServers, type McpServerState } from '../tools/mcp/mcp-servers.js';
import { LocalModels, type LocalModelStatus } from '../../llm/local/local-models.js';

export interface DependencyReport {
  status: 'up' | 'down';
  latency_ms: number;
  driver?: string;
  error?: string;
  fallback?: string;
}

export interface ReadinessReport {
  ready: boolean;
  /** Something is down that the service can do without (Redis failing open, an MCP server). */
  degraded: boolean;
  checks: Record<string, DependencyReport | { status: string; error?: string } | Record<string, McpServerState> | Record<string, LocalModelStatus>>;
}

const CHECK_TIMEOUT_MS = 2_000;

/** Dependency checks for the probes. None of them ever calls an upstream LLM. */
@Injectable()
export class HealthService {
  private readonly startedAt = Date.now();

  constructor(
    private readonly config: AppConfig,
    private readonly prisma: PrismaService,
    private readonly lifecycle: DatabaseLifecycle,
    private readonly blobs: BlobStore,
    private readonly bootstrap: AdminBootstrap,
    private readonly redis: RedisService,
    private readonly mcp: McpServers,
    private readonly local: LocalModels,
  ) {}

  get uptimeSeconds(): number {
    return Math.round((Date.now() - this.startedAt) / 1000);
  }

  async readiness(): Promise<ReadinessReport> {
    const [database, storage] = await Promise.all([
      measure(() => this.prisma.ping(CHECK_TIMEOUT_MS), this.prisma.engine),
      measure(() => withTimeout(this.blobs.ping(), CHECK_TIMEOUT_MS), this.blobs.driver),
    ]);
    const migrations = this.prisma.isMigrated
      ? { status: 'applied' }
      : { status: 'pending', ...(this.lifecycle.lastError ? { error: 'migrations could not be applied yet' } : {}) };
    const bootstrap = { status: this.bootstrap.ready ? 'done' : 'pending' };
    const checks: ReadinessReport['checks'] = { database, storage, migrations, bootstrap };
    let redisOk = true;
    if (this.redis.state !== 'disabled') {
      const redis = await measure(() => withTimeout(this.redis.ping(), CHECK_TIMEOUT_MS), 'redis');
      // Failing open, rate limits fall back to this replica's counters: degraded, still ready.
      redisOk = redis.status === 'up' || this.config.redis.failOpen;
      checks.redis = {
        ...redis,
        ...(redis.status === 'down' ? { fallback: this.config.redis.failOpen ? 'local counters (fail open)' : 'none (fail closed)' } : {}),
      };
    }
    // MCP servers are not critical: a server that is down makes its tools unavailable, never the service unready.
    const mcp = this.mcp.states();
    if (this.config.mcpServers.length) checks.mcp_servers = mcp;
    // Local models: each one's state (unloaded, loading, loaded with its memory, unavailable with why); one unavailable degrades.
    const local = this.local.statuses();
    if (this.local.size) checks.local_models = local;
    const ready = database.status === 'up' && storage.status === 'up' && this.prisma.isMigrated && this.bootstrap.ready && redisOk;
    const degraded =
      checks.redis?.status === 'down' ||
      Object.values(mcp).some((server) => server.status !== 'connected') ||
      Object.values(local).some((model) => model.state === 'unavailable');
    return { ready, degraded, checks };
  }

  /** The readiness answer: the report when ready, else `not_ready` (503) carrying the same report. */
  async ready(): Promise<{ status: 'ready'; checks: ReadinessReport['checks'] }> {
    const report = await this.readiness();
    if (report.ready) return { status: 'ready', checks: report.checks };
    const down = Object.entries(report.checks)
      .filter(
        ([name, check]) =>
          name !== 'mcp_servers' &&
          name !== 'local_models' &&
          !['up', 'applied', 'done'].includes(typeof check.status === 'string' ? check.status : ''),
      )
      .map(([name]) => name);
    throw new DomainError('unavailable', `Not ready: ${down.join(', ')}.`, {
      code: 'not_ready',
      retryAfterSeconds: 5,
      details: { status: 'unavailable', checks: report.checks },
    });
  }

  get version(): string {
    return this.config.version;
  }
}

async function measure(check: () => Promise<unknown>, driver: string): Promise<DependencyReport> {
  const start = performance.now();
  try {
    await check();
    return { status: 'up', driver, latency_ms: elapsed(start) };
  } catch (err) {
    // The message of a driver error can carry hosts or paths; keep it to its first line.
    return {
      status: 'down',
      driver,
      latency_ms: elapsed(start),
      error: String((err as Error).message)
        .split('\n')[0]
        .slice(0, 200),
    };
  }
}

function elapsed(start: number): number {
  return Math.round((performance.now() - start) * 10) / 10;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
