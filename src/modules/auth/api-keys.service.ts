import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../config/app-config.js';
import { DomainError } from '../../common/errors/domain-error.js';
import type { Caller, LimitSet } from '../../common/http/caller.js';
import { toPage, type ListPage } from '../../common/http/pagination.js';
import { unixSeconds } from '../../common/ids.js';
import { budgetView, limitColumns, limitsView, type LimitColumns } from '../users/limits.js';
import { RedisService } from '../../redis/redis.service.js';
import { toolList, UsersService } from '../users/users.service.js';
import { generateApiKey, hashApiKey, looksLikeApiKey } from './api-key-secret.js';
import { ApiKeysRepository, type ApiKeyRow, type ApiKeyWithUser } from './api-keys.repository.js';
import type { ApiKeyView, CreateKeyBody, CreatedApiKeyView, DeletedKeyView, ListKeysQuery, UpdateKeyBody } from './api-keys.schemas.js';
import type { Tx } from '../../persistence/transaction-runner.js';

interface CacheEntry {
  caller: Caller;
  disabled: boolean;
  expiresAt: number;
}

const TOUCH_EVERY_MS = 60_000;
const INVALIDATE_CHANNEL = 'colloquy:auth-invalidate';

interface Change {
  keyId?: string;
  userId?: string;
}
const CACHE_MAX_ENTRIES = 10_000;

const MISSING_KEY = "You didn't provide an API key. Send it in the Authorization header as `Authorization: Bearer YOUR_KEY`.";
const BAD_KEY = 'Incorrect API key provided. Check it, or ask an admin for a new one.';

/**
 * Issues, lists and revokes keys, and turns a presented key into a Caller. Verified keys are
 * trusted for `auth.cache_ttl_ms` (2 s by default): that bounds how long a revocation or a
 * disabled account takes to reach other replicas; on this replica it takes effect at once.
 */
@Injectable()
export class ApiKeysService {
  private readonly cache = new Map<string, CacheEntry>();
  /** Callers resolved by key id (the guest's), kept apart so that no presented key can ever hit them. */
  private readonly byId = new Map<string, CacheEntry>();
  private readonly touched = new Map<string, number>();
  private readonly keyListeners: Array<(keyId: string) => void> = [];
  private readonly revokeListeners: Array<(keyId: string) => Promise<void>> = [];

  constructor(
    private readonly repo: ApiKeysRepository,
    private readonly users: UsersService,
    private readonly config: AppConfig,
    private readonly redis: RedisService,
  ) {
    users.onUserChanged((userId) => this.changed({ userId }));
    // Other replicas drop their cached verdicts as soon as they hear of a change (with Redis);
    // without it the cache's short TTL bounds how long they may still accept a revoked key.
    redis.subscribe(INVALIDATE_CHANNEL, (message) => this.forgetLocally(JSON.parse(message) as Change));
  }

  /** Called when a key's limits or budget change (the budget ledger starts the key afresh). */
  /** Called when a key is revoked (or a revoked sign-in key restored): what acted through it must end. */
  onKeyRevoked(listener: (keyId: string) => Promise<void>): void {
    this.revokeListeners.push(listener);
  }

  onKeyChanged(listener: (keyId: string) => void): void {
    this.keyListeners.push(listener);
  }

  private changed(change: Change): void {
    this.forgetLocally(change);
    this.redis.publish(INVALIDATE_CHANNEL, JSON.stringify(change));
  }

  private forgetLocally(change: Change): void {
    this.forget((entry) => entry.caller.keyId === change.keyId || entry.caller.userId === change.userId);
  }

  async issue(userId: string, input: CreateKeyBody, tx?: Tx): Promise<CreatedApiKeyView> {
    if (!tx && !(await this.users.findRow(userId))) throw new DomainError('not_found', `No user with id ${userId}.`);
    return this.store(userId, generateApiKey(), input, tx);
  }

  /** Registers a key chosen by the operator (COLLOQUY_ADMIN_KEY) instead of a generated one. */
  issueGiven(userId: string, key: string, tx: Tx): Promise<CreatedApiKeyView> {
    return this.store(userId, { key, prefix: key.slice(0, 10), hash: hashApiKey(key) }, { name: 'bootstrap' }, tx);
  }

  /**
   * The key guest requests are metered to: made (or restored, if revoked) with a random secret
   * that is never shown or kept, so no request can present it.
   */
  async ensureGuestKey(userId: string, keyId: string, tx: Tx): Promise<void> {
    const secret = generateApiKey();
    await this.repo.upsert(keyId, { userId, name: 'guest access (no key)', prefix: 'guest', hash: secret.hash }, tx);
  }

  /**
   * The key a user's password sign-ins act through (limits, usage records, jobs): one per user,
   * with a fixed id derived from the user's and a random secret never shown or kept, made at the
   * first password sign-in and restored by the next one if revoked (revoking it ends those
   * sessions). It is listed with the user's keys, named `sign-in (password)`.
   */
  async ensureSignInKey(userId: string): Promise<string> {
    const id = signInKeyId(userId);
    // A revoked sign-in key comes back for the new session only: the sessions it had stay ended.
    if ((await this.repo.findById(id))?.revokedAt) for (const listener of this.revokeListeners) await listener(id);
    await this.repo.upsert(id, { userId, name: 'sign-in (password)', prefix: 'sign-in', hash: generateApiKey().hash });
    this.changed({ keyId: id });
    return id;
  }

  async listForUser(userId: string, query: ListKeysQuery): Promise<ListPage<ApiKeyView>> {
    if (!(await this.users.findRow(userId))) throw new DomainError('not_found', `No user with id ${userId}.`);
    return toPage(await this.repo.listForUser(userId, query, query.include_revoked === true), query, toKeyView);
  }

  async update(id: string, input: UpdateKeyBody): Promise<ApiKeyView> {
    const row = await this.repo.findById(id);
    if (!row || row.revokedAt) throw new DomainError('not_found', `No API key with id ${id}.`);
    const updated = await this.repo.update(id, {
      ...(input.name !== undefined ? { name: input.name } : {}),
      ...limitColumns(input.limits, input.budget),
    });
    this.changed({ keyId: id });
    for (const listener of this.keyListeners) listener(id);
    return toKeyView(updated);
  }

  async revoke(id: string): Promise<DeletedKeyView> {
    if (!(await this.repo.revoke(id))) throw new DomainError('not_found', `No API key with id ${id}.`);
    this.changed({ keyId: id });
    for (const listener of this.revokeListeners) await listener(id);
    return { id, object: 'api_key', deleted: true };
  }

  /** Verifies an `Authorization` header value and answers the caller, or throws 401/403. */
  async authenticate(header: string | undefined): Promise<Caller> {
    const key = parseBearer(header);
    const now = Date.now();
    // Cached by the presented key itself, so a hit costs no hashing.
    let entry = this.cache.get(key);
    if (!entry || entry.expiresAt <= now) {
      entry = await this.lookup(key, now);
    }
    if (entry.disabled) {
      throw new DomainError('forbidden', 'This account is disabled.', { code: 'account_disabled' });
    }
    this.touch(entry.caller.keyId, now);
    return entry.caller;
  }

  /**
   * The caller a key stands for now, by the key's id (for work done later on a request's behalf,
   * such as a queued job): 401 when the key was revoked since, 403 when its user was disabled.
   */
  async callerForKey(keyId: string): Promise<Caller> {
    const row = await this.repo.findWithUser(keyId);
    if (!row || row.revokedAt) throw new DomainError('unauthenticated', 'The API key that submitted this work has been revoked.');
    if (row.user.disabled) throw new DomainError('forbidden', 'This account is disabled.', { code: 'account_disabled' });
    return callerOf(row);
  }

  /** callerForKey, trusted for `auth.cache_ttl_ms` like a presented key (and forgotten as soon as it changes). */
  async cachedCallerForKey(keyId: string): Promise<Caller> {
    const now = Date.now();
    let entry = this.byId.get(keyId);
    if (!entry || entry.expiresAt <= now) {
      const row = await this.repo.findWithUser(keyId);
      if (!row || row.revokedAt) {
        this.byId.delete(keyId);
        throw new DomainError('unauthenticated', BAD_KEY);
      }
      entry = { caller: callerOf(row), disabled: row.user.disabled, expiresAt: now + this.config.auth.cacheTtlMs };
      this.byId.set(keyId, entry);
    }
    if (entry.disabled) throw new DomainError('forbidden', 'This account is disabled.', { code: 'account_disabled' });
    this.touch(keyId, now);
    return entry.caller;
  }

  private async lookup(key: string, now: number): Promise<CacheEntry> {
    const row = await this.repo.findByHash(hashApiKey(key));
    if (!row || row.revokedAt) {
      this.cache.delete(key);
      throw new DomainError('unauthenticated', BAD_KEY);
    }
    const entry: CacheEntry = {
      caller: callerOf(row),
      disabled: row.user.disabled,
      expiresAt: now + this.config.auth.cacheTtlMs,
    };
    if (this.cache.size >= CACHE_MAX_ENTRIES) this.cache.clear();
    this.cache.set(key, entry);
    return entry;
  }

  private touch(keyId: string, now: number): void {
    const last = this.touched.get(keyId) ?? 0;
    if (now - last < TOUCH_EVERY_MS) return;
    this.touched.set(keyId, now);
    // Bookkeeping only: a failure here must not fail the request.
    this.repo.touch(keyId, new Date(now)).catch(() => this.touched.delete(keyId));
  }

  private forget(match: (entry: CacheEntry) => boolean): void {
    for (const map of [this.cache, this.byId]) for (const [key, entry] of map) if (match(entry)) map.delete(key);
  }

  private async store(
    userId: string,
    secret: { key: string; prefix: string; hash: string },
    input: CreateKeyBody,
    tx?: Tx,
  ): Promise<CreatedApiKeyView> {
    const row = await this.repo.create(
      { userId, name: input.name ?? null, prefix: secret.prefix, hash: secret.hash, ...limitColumns(input.limits, input.budget) },
      tx,
    );
    return {
      id: row.id,
      object: 'api_key',
      key: secret.key,
      prefix: row.prefix,
      name: row.name,
      user_id: row.userId,
      created_at: unixSeconds(row.createdAt)!,
    };
  }
}

/** A UUID (version 8: derived, not random) per user for its sign-in key. */
function signInKeyId(userId: string): string {
  const bytes = createHash('sha256').update(`colloquy:sign-in-key:${userId}`).digest().subarray(0, 16);
  bytes[6] = (bytes[6] & 0x0f) | 0x80;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function parseBearer(header: string | undefined): string {
  if (!header) throw new DomainError('unauthenticated', MISSING_KEY, { code: 'missing_api_key' });
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) throw new DomainError('unauthenticated', MISSING_KEY, { code: 'missing_api_key' });
  if (!looksLikeApiKey(match[1])) throw new DomainError('unauthenticated', BAD_KEY);
  return match[1];
}

function callerOf(row: ApiKeyWithUser): Caller {
  return {
    userId: row.userId,
    keyId: row.id,
    role: row.user.role,
    name: row.user.name,
    limits: { user: limitSet(row.user), key: limitSet(row) },
    tools: toolList(row.user.tools),
  };
}

function limitSet(row: LimitColumns): LimitSet {
  return {
    rpm: row.rpmLimit,
    tpm: row.tpmLimit,
    budget: row.budgetMicros !== null && row.budgetPeriod ? { micros: Number(row.budgetMicros), period: row.budgetPeriod } : null,
  };
}

export function toKeyView(row: ApiKeyRow): ApiKeyView {
  return {
    id: row.id,
    object: 'api_key',
    user_id: row.userId,
    name: row.name,
    prefix: row.prefix,
    limits: limitsView(row),
    budget: budgetView(row),
    created_at: unixSeconds(row.createdAt)!,
    last_used_at: unixSeconds(row.lastUsedAt),
    revoked_at: unixSeconds(row.revokedAt),
  };
}
