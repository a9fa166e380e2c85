import { Injectable } from '@nestjs/common';
import type { Memory } from '../../generated/prisma/client.js';
import { cursorOrder, cursorWhere, type ListQuery } from '../../common/http/pagination.js';
import { uuidv7 } from '../../common/ids.js';
import { PrismaService } from '../../persistence/prisma.service.js';
import { dbOf, type Tx } from '../../persistence/transaction-runner.js';

export type MemoryRow = Memory;

export interface NewMemory {
  userId: string;
  /** The end user under the account it is about; '' = the account's own. */
  endUser: string;
  content: string;
  source: 'api' | 'chat';
  conversationId: string | null;
  tokens: number;
}

@Injectable()
export class MemoriesRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Adds one and forgets the user's oldest beyond `keep`, in one unit of work. */
  async add(memory: NewMemory, keep: number, tx?: Tx): Promise<MemoryRow> {
    const db = dbOf(tx, this.prisma);
    const row = await db.memory.create({ data: { id: uuidv7(), ...memory } });
    const beyond = await db.memory.findMany({
      where: { userId: memory.userId, endUser: memory.endUser },
      orderBy: { id: 'desc' },
      skip: keep,
      select: { id: true },
    });
    if (beyond.length) await db.memory.deleteMany({ where: { id: { in: beyond.map((b) => b.id) } } });
    return row;
  }

  list(userId: string, endUser: string, query: ListQuery): Promise<MemoryRow[]> {
    return this.prisma.memory.findMany({ where: { userId, endUser, ...cursorWhere(query) }, orderBy: cursorOrder(query), take: query.limit + 1 });
  }

  newest(userId: string, endUser: string, take: number): Promise<MemoryRow[]> {
    return this.prisma.memory.findMany({ where: { userId, endUser }, orderBy: { id: 'desc' }, take });
  }

  /** Deletes one of the (user, end user)'s memories (or all of them without `id`); answers how many went. */
  async remove(userId: string, endUser: string, id?: string): Promise<number> {
    const { count } = await this.prisma.memory.deleteMany({ where: { userId, endUser, ...(id === undefined ? {} : { id }) } });
    return count;
  }

  /** The end users of the account that have memories, with how many each (Smart-Host's memory status). */
  async endUsers(userId: string): Promise<Array<{ endUser: string; count: number }>> {
    const rows = await this.prisma.memory.groupBy({ by: ['endUser'], where: { userId }, _count: { _all: true } });
    return rows.map((r) => ({ endUser: r.endUser, count: r._count._all }));
  }
}
