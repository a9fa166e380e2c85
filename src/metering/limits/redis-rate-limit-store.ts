import type { Redis } from 'ioredis';
import { BUCKETS, type ChargeResult, RateLimitStore, type WindowSpec } from './rate-limit-store.js';

// Each window is one hash: time bucket → amount. The time is Redis's own, so replicas whose
// clocks differ still agree on the buckets (ARGV[4], when not empty, stands in for it in tests).
// The bucket arithmetic is rate-limit-store.ts's (bucketOf, leavesAt, hasLeft), in Lua.
const CHARGE = `
local now
if ARGV[4] ~= '' then
  now = tonumber(ARGV[4])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local windowMs = tonumber(ARGV[1])
local amount = tonumber(ARGV[2])
local buckets = tonumber(ARGV[3])
local size = windowMs / buckets
local bucket = math.floor(now * buckets / windowMs)
local function leavesAt(b) return math.ceil((b + buckets + 1) * windowMs / buckets) end
local admitted = 1
local retry = 0
local used = {}
local oldest = {}
for i = 1, #KEYS do
  local limit = tonumber(ARGV[4 + i])
  local fields = redis.call('HGETALL', KEYS[i])
  local live = {}
  local sum = 0
  for j = 1, #fields, 2 do
    local b = tonumber(fields[j])
    if b <= bucket - buckets - 1 then
      redis.call('HDEL', KEYS[i], fields[j])
    else
      local a = tonumber(fields[j + 1])
      sum = sum + a
      table.insert(live, { b, a })
    end
  end
  table.sort(live, function(x, y) return x[1] < y[1] end)
  used[i] = sum
  oldest[i] = live[1] and live[1][1] or nil
  if sum + amount > limit then
    admitted = 0
    if amount > limit then
      retry = -1
    elseif retry >= 0 then
      local excess = sum + amount - limit
      local freed = 0
      for _, e in ipairs(live) do
        freed = freed + e[2]
        if freed >= excess then
          retry = math.max(retry, math.max(1, leavesAt(e[1]) - now))
          break
        end
      end
    end
  end
end
local out = { admitted, retry, bucket }
for i = 1, #KEYS do
  if admitted == 1 then
    redis.call('HINCRBY', KEYS[i], bucket, amount)
    -- The newest bucket leaves at most windowMs + 2 buckets from now.
    redis.call('PEXPIRE', KEYS[i], math.ceil(windowMs + 2 * size))
    used[i] = used[i] + amount
    if oldest[i] == nil then oldest[i] = bucket end
  end
  local reset = 0
  if oldest[i] ~= nil then reset = math.max(0, leavesAt(oldest[i]) - now) end
  table.insert(out, used[i])
  table.insert(out, reset)
end
return out
`;

const SETTLE = `
for i = 1, #KEYS do
  if redis.call('HEXISTS', KEYS[i], ARGV[1]) == 1 then redis.call('HINCRBY', KEYS[i], ARGV[1], ARGV[2]) end
end
return 1
`;

/** The counters of all replicas, in Redis: one Lua script per charge, atomic across windows. */
export class RedisRateLimitStore extends RateLimitStore {
  readonly kind = 'redis' as const;

  constructor(
    private readonly redis: Redis,
    private readonly prefix = 'colloquy:rl:',
    /** Tests only: a clock to use instead of Redis TIME (to charge at exact bucket edges). */
    private readonly now?: () => number,
  ) {
    super();
  }

  async charge(specs: WindowSpec[], windowMs: number, amount: number): Promise<ChargeResult> {
    const keys = specs.map((s) => this.prefix + s.key);
    const now = this.now ? String(this.now()) : '';
    const out = (await this.redis.eval(CHARGE, keys.length, ...keys, windowMs, amount, BUCKETS, now, ...specs.map((s) => s.limit))) as number[];
    const admitted = out[0] === 1;
    return {
      admitted,
      ticket: Number(out[2]),
      retryAfterMs: admitted ? 0 : Number(out[1]),
      states: specs.map((s, i) => ({ key: s.key, limit: s.limit, used: Number(out[3 + i * 2]), resetMs: Number(out[4 + i * 2]) })),
    };
  }

  async settle(keys: string[], _windowMs: number, ticket: number, delta: number): Promise<void> {
    if (!delta) return;
    const all = keys.map((k) => this.prefix + k);
    await this.redis.eval(SETTLE, all.length, ...all, ticket, delta);
  }
}
