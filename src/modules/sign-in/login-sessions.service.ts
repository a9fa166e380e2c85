import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { DomainError } from '../../common/errors/domain-error.js';
import type { Caller } from '../../common/http/caller.js';
import { AppConfig } from '../../config/app-config.js';
import type { Tx } from '../../persistence/transaction-runner.js';
import { RedisService } from '../../redis/redis.service.js';
import { ApiKeysService } from '../auth/api-keys.service.js';
import { UsersService } from '../users/users.service.js';
import { LoginSessionsRepository } from './login-sessions.repository.js';

/** A session's expiry is written at most this often (each use slides it; a write per request would be too many). */
const EXTEND_EVERY_MS = 60_000;
const INVALIDATE_CHANNEL = 'colloquy:session-invalidate';
const CACHE_MAX_ENTRIES = 10_000;
/** Ended sessions are kept this long (for a look in the table), then deleted at the user's next sign-in. */
const KEEP_ENDED_MS = 7 * 24 * 3_600_000;
/** What a session cookie looks like: 32 random bytes, base64url. Anything else is refused unhashed. */
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

const SESSION_ENDED = 'Your sign-in session has ended (signed out, expired or revoked). Sign in again with POST /auth/login.';

interface Entry {
  id: string;
  userId: string;
  keyId: string;
  csrfToken: string;
  expiresAt: number;
  lastUsedAt: number;
  /** Until when this verdict is trusted without reading the row again (auth.cache_ttl_ms). */
  cachedUntil: number;
}

interface Change {
  sessionId?: string;
  userId?: string;
  keyId?: string;
  keepSessionId?: string;
}

export interface StartedSession {
  id: string;
  token: string;
  csrfToken: string;
  expiresAt: Date;
}

/**
 * Sign-in sessions: a random token in the cookie, only its sha256 stored, and a separate random
 * CSRF token. A session acts through an API key (the one presented at sign-in, or the user's
 * sign-in key for a password), so its caller is that key's: same user, role, limits and usage
 * records, ended with the key or the account. Verdicts are cached for `auth.cache_ttl_ms`, as
 * keys are, and forgotten at once on this replica (and, with Redis, on the others) when a
 * session ends.
 */
@Injectable()
export class LoginSessions {
  private readonly cache = new Map<string, Entry>();

  constructor(
    private readonly repo: LoginSessionsRepository,
    private readonly keys: ApiKeysService,
    private readonly config: AppConfig,
    private readonly redis: RedisService,
    users: UsersService,
  ) {
    users.onSessionsEnd((userId, tx, keep) => this.endForUser(userId, tx, keep));
    keys.onKeyRevoked((keyId) => this.endForKey(keyId));
    // After the change's transaction committed: nothing re-read in between stays cached.
    users.onUserChanged((userId) => this.forgetLocally({ userId }));
    redis.subscribe(INVALIDATE_CHANNEL, (message) => this.forgetLocally(JSON.parse(message) as Change));
  }

  get ttlMs(): number {
    return this.config.auth.sessionTtlMs;
  }

  async start(userId: string, keyId: string): Promise<StartedSession> {
    const now = Date.now();
    await this.repo.pruneForUser(userId, new Date(now - KEEP_ENDED_MS));
    const token = randomBytes(32).toString('base64url');
    const csrfToken = randomBytes(32).toString('base64url');
    const expiresAt = new Date(now + this.ttlMs);
    const row = await this.repo.create({ userId, apiKeyId: keyId, tokenHash: hashToken(token), csrfToken, expiresAt });
    return { id: row.id, token, csrfToken, expiresAt };
  }

  /**
   * The caller behind a session cookie: 401 when the session is unknown, expired or ended (or
   * its key revoked), 403 when the account is disabled. With `csrf` given (a request that
   * changes something), it must equal the session's CSRF token, else 403 `csrf_token_invalid`.
   */
  async authenticate(token: string, csrf?: { presented: string | undefined }): Promise<Caller> {
    const entry = await this.resolve(token);
    if (csrf && !sameSecret(csrf.presented, entry.csrfToken)) {
      throw new DomainError(
        'forbidden',
        'A request authenticated by the session cookie must send the csrf_token of POST /auth/login in the x-csrf-token header.',
        { code: 'csrf_token_invalid' },
      );
    }
    let caller: Caller;
    try {
      caller = await this.keys.cachedCallerForKey(entry.keyId);
    } catch (err) {
      // The key it acts through was revoked: the session is over.
      if (err instanceof DomainError && err.kind === 'unauthenticated') throw ended();
      throw err;
    }
    // Only a request that passed every check keeps the session alive.
    this.slide(entry, Date.now());
    return { ...caller, sessionId: entry.id };
  }

  /** The session's CSRF token (GET /auth/session, for a page reloaded since sign-in). */
  async csrfToken(token: string): Promise<string> {
    return (await this.resolve(token)).csrfToken;
  }

  /** Ends the session of this cookie (POST /auth/logout); 401 when it is not a live one. */
  async end(token: string): Promise<void> {
    const entry = await this.resolve(token);
    await this.repo.revoke(entry.id);
    this.changed({ sessionId: entry.id });
  }

  private async endForKey(keyId: string): Promise<void> {
    await this.repo.revokeForKey(keyId);
    this.changed({ keyId });
  }

  private async endForUser(userId: string, tx: Tx, keepSessionId?: string): Promise<void> {
    await this.repo.revokeForUser(userId, tx, keepSessionId);
    this.changed({ userId, keepSessionId });
  }

  private async resolve(token: string): Promise<Entry> {
    const now = Date.now();
    let entry = this.cache.get(token);
    if (!entry || entry.cachedUntil <= now) entry = await this.lookup(token, now);
    if (entry.expiresAt <= now) {
      this.cache.delete(token);
      throw ended();
    }
    return entry;
  }

  private async lookup(token: string, now: number): Promise<Entry> {
    const row = TOKEN_PATTERN.test(token) ? await this.repo.findByTokenHash(hashToken(token)) : null;
    if (!row || row.revokedAt) {
      this.cache.delete(token);
      throw ended();
    }
    const entry: Entry = {
      id: row.id,
      userId: row.userId,
      keyId: row.apiKeyId,
      csrfToken: row.csrfToken,
      expiresAt: row.expiresAt.getTime(),
      lastUsedAt: row.lastUsedAt.getTime(),
      cachedUntil: now + this.config.auth.cacheTtlMs,
    };
    if (this.cache.size >= CACHE_MAX_ENTRIES) this.cache.clear();
    this.cache.set(token, entry);
    return entry;
  }

  /** Sliding expiry: each use extends it by the TTL, written at most once a minute (sooner for TTLs under four minutes). */
  private slide(entry: Entry, now: number): void {
    if (now - entry.lastUsedAt < Math.min(EXTEND_EVERY_MS, this.ttlMs / 4)) return;
    entry.lastUsedAt = now;
    entry.expiresAt = now + this.ttlMs;
    // Bookkeeping: a failed write leaves the session expiring a little sooner, never the request failed.
    this.repo.extend(entry.id, new Date(now), new Date(entry.expiresAt)).catch(() => undefined);
  }

  private changed(change: Change): void {
    this.forgetLocally(change);
    this.redis.publish(INVALIDATE_CHANNEL, JSON.stringify(change));
  }

  private forgetLocally(change: Change): void {
    for (const [token, entry] of this.cache) {
      if (entry.id === change.sessionId || entry.keyId === change.keyId || (entry.userId === change.userId && entry.id !== change.keepSessionId))
        this.cache.delete(token);
    }
  }
}

function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Compares in constant time (over digests, so that lengths do not matter). */
function sameSecret(presented: string | undefined, expected: string): boolean {
  if (!presented) return false;
  return timingSafeEqual(createHash('sha256').update(presented).digest(), createHash('sha256').update(expected).digest());
}

function ended(): DomainError {
  return new DomainError('unauthenticated', SESSION_ENDED, { code: 'session_invalid' });
}
