import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../config/app-config.js';
import { DomainError } from '../../common/errors/domain-error.js';
import type { Caller } from '../../common/http/caller.js';
import { toPage, type ListPage } from '../../common/http/pagination.js';
import { unixSeconds } from '../../common/ids.js';
import { spendView } from '../../llm/pricing.js';
import { canRead, resolveOwner } from '../../common/http/ownership.js';
import type { CreateSessionBody, ListSessionsQuery, SessionView } from './sessions.schemas.js';
import { NO_SESSION_TOTALS, SessionsRepository, type SessionRow, type SessionTotals } from './sessions.repository.js';

@Injectable()
export class SessionsService {
  constructor(
    private readonly repo: SessionsRepository,
    private readonly config: AppConfig,
  ) {}

  async create(caller: Caller, input: CreateSessionBody): Promise<SessionView> {
    return this.toView(await this.repo.create(caller.userId, input.metadata), NO_SESSION_TOTALS);
  }

  async get(caller: Caller, id: string): Promise<SessionView> {
    const row = await this.repo.findById(id);
    if (!row || !canRead(caller, row.userId)) throw new DomainError('not_found', `No session with id ${id}.`);
    return this.view(row);
  }

  async listForUser(caller: Caller, userId: string, query: ListSessionsQuery): Promise<ListPage<SessionView>> {
    const owner = resolveOwner(caller, userId);
    const since = this.idleSince();
    const filter = query.active === undefined ? null : query.active ? { since } : { notSince: since };
    const rows = await this.repo.list(owner, query, filter);
    const totals = await this.repo.totals(rows.slice(0, query.limit).map((r) => r.id));
    return toPage(rows, query, (row) => this.toView(row, totals.get(row.id) ?? NO_SESSION_TOTALS));
  }

  async end(caller: Caller, id: string): Promise<SessionView> {
    const row = await this.repo.findById(id);
    if (!row || row.userId !== caller.userId) throw new DomainError('not_found', `No session with id ${id}.`);
    if (row.endedAt) return this.view(row);
    return this.view(await this.repo.end(id));
  }

  /**
   * The session a chat request belongs to: the one it names (the caller's, not ended), else the
   * caller's session active within SESSION_IDLE_MINUTES, else a new one. Creation is serialised
   * per user so concurrent first requests join one session.
   */
  async resolveForRequest(caller: Caller, sessionId: string | undefined): Promise<SessionRow> {
    if (sessionId) {
      const row = await this.repo.findById(sessionId);
      if (!row || row.userId !== caller.userId) {
        throw new DomainError('not_found', `No session with id ${sessionId}.`, { param: 'session_id' });
      }
      if (row.endedAt)
        throw new DomainError('conflict', `Session ${sessionId} has ended; start a new one.`, { param: 'session_id', code: 'session_ended' });
      return row;
    }
    const since = this.idleSince();
    const active = await this.repo.findActive(caller.userId, since);
    if (active) return active;
    return this.repo.withUserLock(
      caller.userId,
      async (tx) => (await this.repo.findActive(caller.userId, since, tx)) ?? this.repo.create(caller.userId, {}, tx),
    );
  }

  private idleSince(): Date {
    return new Date(Date.now() - this.config.defaults.sessionIdleMinutes * 60_000);
  }

  private async view(row: SessionRow): Promise<SessionView> {
    const totals = await this.repo.totals([row.id]);
    return this.toView(row, totals.get(row.id) ?? NO_SESSION_TOTALS);
  }

  private toView(row: SessionRow, totals: SessionTotals): SessionView {
    // The row's activity is written at most every few seconds; the newest usage record is exact.
    const lastActivityAt = totals.lastRecordAt && totals.lastRecordAt > row.lastActivityAt ? totals.lastRecordAt : row.lastActivityAt;
    return {
      id: row.id,
      object: 'session',
      user_id: row.userId,
      active: !row.endedAt && lastActivityAt >= this.idleSince(),
      created_at: unixSeconds(row.createdAt)!,
      last_activity_at: unixSeconds(lastActivityAt)!,
      ended_at: unixSeconds(row.endedAt),
      conversation_count: totals.conversations,
      message_count: totals.messages,
      request_count: totals.requests,
      ...spendView(totals),
      metadata: (row.metadata ?? {}) as Record<string, unknown>,
    };
  }
}
