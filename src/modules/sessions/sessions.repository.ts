import { Injectable } from '@nestjs/common';
import type { Prisma, Session } from '../../generated/prisma/client.js';
import { cursorOrder, cursorWhere, type ListQuery } from '../../common/http/pagination.js';
import { uuidv7 } from '../../common/ids.js';
import { PrismaService } from '../../persistence/prisma.service.js';
import { asTx, dbOf, Tx } from '../../persistence/transaction-runner.js';

export type SessionRow = Session;

/** A session's totals, read from the conversations started in it, the messages sent in it and its usage records. */
export interface SessionTotals {
  conversations: number;
  messages: number;
  requests: number;
  promptTokens: number;
  completionTokens: number;
  costMicros: number;
  /** When its newest usage record was written (null: none yet). */
  lastRecordAt: Date | null;
}

export const NO_SESSION_TOTALS: SessionTotals = {
  conversations: 0,
  messages: 0,
  requests: 0,
  promptTokens: 0,
  completionTokens: 0,
  costMicros: 0,
  lastRecordAt: null,
};

// Indexed counts and sums per session (conversations, messages and usage records by session_id).
const SESSION_TOTALS = `
SELECT s.id,
       (SELECT count(*) FROM conversations c WHERE c.session_id = s.id) AS conversations,
       (SELECT count(*) FROM messages m WHERE m.session_id = s.id) AS messages,
       u.requests, u.prompt, u.completion, u.cost, u.last_at
FROM unnest($1::uuid[]) AS s(id)
CROSS JOIN LATERAL (
  SELECT count(*) AS requests, coalesce(sum(prompt_tokens), 0) AS prompt, coalesce(sum(completion_tokens), 0) AS completion,
         coalesce(sum(cost_micros), 0) AS cost, max(created_at) AS last_at
  FROM usage_records r WHERE r.session_id = s.id
) AS u`;

const SESSION_COLUMNS = 'id, user_id, created_at, last_activity_at, ended_at, metadata';
const ACTIVE_SESSION = `SELECT ${SESSION_COLUMNS} FROM sessions
WHERE user_id = $1::uuid AND ended_at IS NULL AND last_activity_at >= $2
ORDER BY last_activity_at DESC LIMIT 1`;

interface RawSession {
  id: string;
  user_id: string;
  created_at: Date;
  last_activity_at: Date;
  ended_at: Date | null;
  metadata: Prisma.JsonValue;
}

function sessionOf(r: RawSession): SessionRow {
  return { id: r.id, userId: r.user_id, createdAt: r.created_at, lastActivityAt: r.last_activity_at, endedAt: r.ended_at, metadata: r.metadata };
}

@Injectable()
export class SessionsRepository {
  constructor(private readonly prisma: PrismaService) {}

  create(userId: string, metadata: Record<string, unknown> = {}, tx?: Tx): Promise<SessionRow> {
    return dbOf(tx, this.prisma).session.create({ data: { id: uuidv7(), userId, metadata: metadata as Prisma.InputJsonObject } });
  }

  /** On the driver: every /chat turn that names its session reads it. */
  async findById(id: string): Promise<SessionRow | null> {
    const [row] = await this.prisma.query<RawSession>(`SELECT ${SESSION_COLUMNS} FROM sessions WHERE id = $1::uuid`, [id]);
    return row ? sessionOf(row) : null;
  }

  /**
   * The user's most recently active session that is not ended and was active since `since`.
   * Outside a transaction it is read on the driver (the lookup of every /chat turn without a session id).
   */
  async findActive(userId: string, since: Date, tx?: Tx): Promise<SessionRow | null> {
    if (tx) {
      return dbOf(tx, this.prisma).session.findFirst({
        where: { userId, endedAt: null, lastActivityAt: { gte: since } },
        orderBy: { lastActivityAt: 'desc' },
      });
    }
    const [row] = await this.prisma.query<RawSession>(ACTIVE_SESSION, [userId, since]);
    return row ? sessionOf(row) : null;
  }

  list(userId: string, query: ListQuery, active: { since: Date } | { notSince: Date } | null): Promise<SessionRow[]> {
    const activity =
      active === null
        ? {}
        : 'since' in active
          ? { endedAt: null, lastActivityAt: { gte: active.since } }
          : { OR: [{ endedAt: { not: null } }, { lastActivityAt: { lt: active.notSince } }] };
    return this.prisma.session.findMany({
      where: { userId, ...cursorWhere(query), ...activity },
      orderBy: cursorOrder(query),
      take: query.limit + 1,
    });
  }

  end(id: string): Promise<SessionRow> {
    return this.prisma.session.update({ where: { id }, data: { endedAt: new Date() } });
  }

  /** The totals of each session, always equal to the usage records and messages. */
  async totals(ids: string[]): Promise<Map<string, SessionTotals>> {
    if (!ids.length) return new Map();
    type Raw = Record<'id' | 'conversations' | 'messages' | 'requests' | 'prompt' | 'completion' | 'cost', string> & { last_at: Date | null };
    const rows = await this.prisma.query<Raw>(SESSION_TOTALS, [ids]);
    return new Map(
      rows.map((r) => [
        r.id,
        {
          conversations: Number(r.conversations),
          messages: Number(r.messages),
          requests: Number(r.requests),
          promptTokens: Number(r.prompt),
          completionTokens: Number(r.completion),
          costMicros: Number(r.cost),
          lastRecordAt: r.last_at,
        },
      ]),
    );
  }

  /** Serialises session creation per user (PostgreSQL advisory lock; PGlite has one connection). */
  withUserLock<T>(userId: string, work: (tx: Tx) => Promise<T>): Promise<T> {
    return this.prisma.$transaction(async (tx) => {
      if (this.prisma.engine === 'postgres') {
        await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${'session:' + userId}))`;
      }
      return work(asTx(tx));
    });
  }
}
