import type { Redis } from 'ioredis';
import { type ChargeResult, RateLimitStore, type WindowSpec } from './rate-limit-store.js';

// Each window is three keys: a sorted set of charge ids by time, a hash of their amounts, and
// their running sum. The time is Redis's own, so replicas whose clocks differ still agree.
const CHARGE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local windowMs = tonumber(ARGV[1])
local id = ARGV[2]
local amount = tonumber(ARGV[3])
local n = (#KEYS) / 3
local used = {}
local admitted = 1
local retry = 0
for i = 1, n do
  local z, h, s = KEYS[i*3-2], KEYS[i*3-1], KEYS[i*3]
  local limit = tonumber(ARGV[3 + i])
  local expired = redis.call('ZRANGEBYSCORE', z, '-inf', now - windowMs)
  if #expired > 0 then
    local amounts = redis.call('HMGET', h, unpack(expired))
    local dec = 0
    for _, a in ipairs(amounts) do dec = dec + (tonumber(a) or 0) end
    redis.call('HDEL', h, unpack(expired))
    redis.call('ZREMRANGEBYSCORE', z, '-inf', now - windowMs)
    redis.call('DECRBY', s, dec)
  end
  local sum = tonumber(redis.call('GET', s) or '0')
  used[i] = sum
  if sum + amount > limit then
    admitted = 0
    if amount > limit then
      retry = -1
    elseif retry >= 0 then
      local excess = sum + amount - limit
      local entries = redis.call('ZRANGE', z, 0, -1, 'WITHSCORES')
      local freed = 0
      for j = 1, #entries, 2 do
        freed = freed + (tonumber(redis.call('HGET', h, entries[j])) or 0)
        if freed >= excess then
          retry = math.max(retry, tonumber(entries[j+1]) + windowMs - now)
          break
        end
      end
    end
  end
end
local out = { admitted, retry }
for i = 1, n do
  local z, h, s = KEYS[i*3-2], KEYS[i*3-1], KEYS[i*3]
  if admitted == 1 then
    redis.call('ZADD', z, now, id)
    redis.call('HSET', h, id, amount)
    redis.call('INCRBY', s, amount)
    used[i] = used[i] + amount
    for _, k in ipairs({ z, h, s }) do redis.call('PEXPIRE', k, windowMs + 1000) end
  end
  local oldest = redis.call('ZRANGE', z, 0, 0, 'WITHSCORES')
  local reset = 0
  if #oldest > 0 then reset = math.max(0, tonumber(oldest[2]) + windowMs - now) end
  table.insert(out, used[i])
  table.insert(out, reset)
end
return out
`;

const SETTLE = `
local amount = tonumber(ARGV[2])
for i = 1, (#KEYS) / 3 do
  local h, s = KEYS[i*3-1], KEYS[i*3]
  local old = redis.call('HGET', h, ARGV[1])
  if old then
    redis.call('HSET', h, ARGV[1], amount)
    redis.call('INCRBY', s, amount - tonumber(old))
  end
end
return 1
`;

/** The counters of all replicas, in Redis: one Lua script per charge, atomic across windows. */
export class RedisRateLimitStore extends RateLimitStore {
  readonly kind = 'redis' as const;

  constructor(
    private readonly redis: Redis,
    private readonly prefix = 'colloquy:rl:',
  ) {
    super();
  }

  async charge(specs: WindowSpec[], windowMs: number, id: string, amount: number): Promise<ChargeResult> {
    const keys = specs.flatMap((s) => this.keysOf(s.key));
    const out = (await this.redis.eval(CHARGE, keys.length, ...keys, windowMs, id, amount, ...specs.map((s) => s.limit))) as number[];
    const admitted = out[0] === 1;
    return {
      admitted,
      retryAfterMs: admitted ? 0 : Number(out[1]),
      states: specs.map((s, i) => ({ key: s.key, limit: s.limit, used: Number(out[2 + i * 2]), resetMs: Number(out[3 + i * 2]) })),
    };
  }

  async settle(keys: string[], id: string, amount: number): Promise<void> {
    const all = keys.flatMap((k) => this.keysOf(k));
    await this.redis.eval(SETTLE, all.length, ...all, id, amount);
  }

  private keysOf(key: string): string[] {
    const base = this.prefix + key;
    return [`${base}:z`, `${base}:h`, `${base}:s`];
  }
}
