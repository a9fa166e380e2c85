import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { ModelCatalog } from '../llm/model-catalog.js';
import { microsToUsd } from '../common/money.js';

/** What the metrics need of one upstream call (its usage record carries all of it). */
export interface CallMeasurement {
  provider: string;
  requestedModel: string;
  status: 'ok' | 'error' | 'aborted' | 'incomplete';
  errorCode: string | null;
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
  reasoningTokens: number;
  costMicros: number;
  latencyMs: number;
  ttftMs: number | null;
}

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

/**
 * Prometheus metrics of this process, in a registry of its own (tests run several apps in one
 * process). Labels stay bounded: routes are templates, models are catalog ids or personas, and
 * anything else is "other".
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  readonly httpRequests = new Counter({
    name: 'colloquy_http_requests_total',
    help: 'HTTP requests by route template and status.',
    labelNames: ['method', 'route', 'status'],
    registers: [this.registry],
  });
  readonly httpDuration = new Histogram({
    name: 'colloquy_http_request_duration_seconds',
    help: 'HTTP request duration by route template and status (streams: until the last byte).',
    labelNames: ['method', 'route', 'status'],
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly upstreamCalls = new Counter({
    name: 'colloquy_upstream_requests_total',
    help: 'Upstream model calls by provider, model and outcome (ok, error, aborted).',
    labelNames: ['provider', 'model', 'status'],
    registers: [this.registry],
  });
  readonly upstreamErrors = new Counter({
    name: 'colloquy_upstream_errors_total',
    help: 'Failed upstream calls by provider, model and error code.',
    labelNames: ['provider', 'model', 'code'],
    registers: [this.registry],
  });
  readonly upstreamLatency = new Histogram({
    name: 'colloquy_upstream_latency_seconds',
    help: 'Upstream call duration, to the last byte.',
    labelNames: ['provider', 'model'],
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly upstreamTtft = new Histogram({
    name: 'colloquy_upstream_time_to_first_token_seconds',
    help: 'Time to the first streamed chunk (or the whole answer when not streamed).',
    labelNames: ['provider', 'model'],
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly tokens = new Counter({
    name: 'colloquy_tokens_total',
    help: 'Tokens metered, by model and kind (prompt, completion, cached, reasoning).',
    labelNames: ['model', 'kind'],
    registers: [this.registry],
  });
  readonly cost = new Counter({
    name: 'colloquy_cost_usd_total',
    help: 'Cost metered in USD, by model.',
    labelNames: ['model'],
    registers: [this.registry],
  });
  readonly activeStreams = new Gauge({
    name: 'colloquy_active_streams',
    help: 'Server-sent event streams open now.',
    registers: [this.registry],
  });
  readonly rateLimitRefusals = new Counter({
    name: 'colloquy_rate_limit_refusals_total',
    help: 'Requests refused by a rate limit, by kind (requests, tokens) and scope (key, user, ip: a guest client IP).',
    labelNames: ['kind', 'scope'],
    registers: [this.registry],
  });
  readonly budgetRefusals = new Counter({
    name: 'colloquy_budget_refusals_total',
    help: 'Requests refused because a budget could not cover their worst case, by scope.',
    labelNames: ['scope'],
    registers: [this.registry],
  });

  constructor(private readonly catalog: ModelCatalog) {
    collectDefaultMetrics({ register: this.registry, prefix: 'colloquy_' });
  }

  /** A model id as a label: known models and personas by name, anything else as "other". */
  model(id: string): string {
    return this.catalog.isKnown(id) ? id : 'other';
  }

  /** The metrics of one metered call (every usage record passes here). */
  recordCall(call: CallMeasurement): void {
    const model = this.model(call.requestedModel);
    const provider = call.provider;
    this.upstreamCalls.inc({ provider, model, status: call.status });
    if (call.status === 'error' || call.status === 'incomplete') this.upstreamErrors.inc({ provider, model, code: call.errorCode ?? 'unknown' });
    this.upstreamLatency.observe({ provider, model }, call.latencyMs / 1000);
    if (call.ttftMs !== null) this.upstreamTtft.observe({ provider, model }, call.ttftMs / 1000);
    this.tokens.inc({ model, kind: 'prompt' }, call.promptTokens);
    this.tokens.inc({ model, kind: 'completion' }, call.completionTokens);
    this.tokens.inc({ model, kind: 'cached' }, call.cachedTokens);
    this.tokens.inc({ model, kind: 'reasoning' }, call.reasoningTokens);
    this.cost.inc({ model }, microsToUsd(call.costMicros));
  }
}
