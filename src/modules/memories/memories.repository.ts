import { Injectable } from '@nestjs/common';
import type { Memory } from '../../generated/prisma/client.js';
import { cursorOrder, cursorWhere, type ListQuery } from '../../common/http/pagination.js';
import { uuidv7 } from '../../common/ids.js';
import { PrismaService } from '../../persistence/prisma.service.js';
import { dbOf, type Tx } from '../../persistence/transaction-runner.js';

export type MemoryRow = Memory;

export interface NewMemory {
  userId: string;
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
    const beyond = await db.memory.findMany({ where: { userId: memory.userId }, orderBy: { id: 'desc' }, skip: keep, select: { id: true } });
    if (beyond.length) await db.memory.deleteMany({ where: { id: { in: beyond.map((b) => b.id) } } });
    return row;
  }

  list(userId: string, query: ListQuery): Promise<MemoryRow[]> {
    return this.prisma.memory.findMany({ where: { userId, ...cursorWhere(query) }, orderBy: cursorOrder(query), take: query.limit + 1 });
  }

  newest(userId: string, take: number): Promise<MemoryRow[]> {
    return this.prisma.memory.findMany({ where: { userId }, orderBy: { id: 'desc' }, take });
  }

  /** Deletes one of the user's memories (or all of them without `id`); answers how many went. */
  async remove(userId: string, id?: string): Promise<number> {
    const { count } = await this.prisma.memory.deleteMany({ where: { userId, ...(id === undefined ? {} : { id }) } });
    return count;
  }
}
