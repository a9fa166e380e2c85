import { Injectable } from '@nestjs/common';
import { Prisma, type User } from '../../generated/prisma/client.js';
import { uuidv7 } from '../../common/ids.js';
import { cursorOrder, cursorWhere, type ListQuery } from '../../common/http/pagination.js';
import { PrismaService } from '../../persistence/prisma.service.js';
import { asTx, dbOf, Tx } from '../../persistence/transaction-runner.js';

export type UserRow = User;
/** `tools`: the user's own tool allow list, or null for what their role is given. */
export type NewUser = Omit<Prisma.UserUncheckedCreateInput, 'id' | 'tools'> & { tools?: string[] | null };
export type UserChanges = Omit<Prisma.UserUncheckedUpdateInput, 'tools'> & { tools?: string[] | null };

@Injectable()
export class UsersRepository {
  constructor(private readonly prisma: PrismaService) {}

  create(data: NewUser, tx?: Tx): Promise<UserRow> {
    return dbOf(tx, this.prisma).user.create({ data: { id: uuidv7(), ...data, tools: toolsColumn(data.tools) } });
  }

  findById(id: string, tx?: Tx): Promise<UserRow | null> {
    return dbOf(tx, this.prisma).user.findUnique({ where: { id } });
  }

  /**
   * Users whose email (any case) or name is exactly `value`, at most `take`. Prisma's insensitive
   * equality is an ILIKE on PostgreSQL, where `%` and `_` are wildcards: the rows it finds are
   * kept only when they match exactly.
   */
  async findByNameOrEmail(value: string, take: number): Promise<UserRow[]> {
    const lower = value.toLowerCase();
    const rows = await this.prisma.user.findMany({
      where: { OR: [{ email: { equals: value, mode: 'insensitive' } }, { name: value }] },
      take: take + 50,
    });
    return rows.filter((row) => row.name === value || row.email?.toLowerCase() === lower).slice(0, take);
  }

  list(query: ListQuery, role?: 'admin' | 'user'): Promise<UserRow[]> {
    return this.prisma.user.findMany({
      where: { ...cursorWhere(query), ...(role ? { role } : {}) },
      orderBy: cursorOrder(query),
      take: query.limit + 1,
    });
  }

  update(id: string, data: UserChanges, tx?: Tx): Promise<UserRow> {
    return dbOf(tx, this.prisma).user.update({ where: { id }, data: { ...data, tools: toolsColumn(data.tools) } });
  }

  countActiveAdmins(tx?: Tx): Promise<number> {
    return dbOf(tx, this.prisma).user.count({ where: { role: 'admin', disabled: false } });
  }

  /** Creates the user with this id, or brings the fields given up to date (the built-in guest). */
  upsert(id: string, data: Omit<NewUser, 'tools'>, tx?: Tx): Promise<UserRow> {
    return dbOf(tx, this.prisma).user.upsert({ where: { id }, create: { id, ...data }, update: data });
  }

  hasAnyAdmin(tx?: Tx): Promise<boolean> {
    return dbOf(tx, this.prisma)
      .user.count({ where: { role: 'admin' }, take: 1 })
      .then((n) => n > 0);
  }

  /** Runs `work` in a transaction; on PostgreSQL, after taking the named advisory lock. */
  transaction<T>(work: (tx: Tx) => Promise<T>, lockId?: number): Promise<T> {
    return this.prisma.$transaction(async (tx) => {
      if (lockId !== undefined && this.prisma.engine === 'postgres') {
        await tx.$executeRaw`SELECT pg_advisory_xact_lock(${lockId})`;
      }
      return work(asTx(tx));
    });
  }
}

/** A JSON column's null is Prisma.DbNull (SQL NULL), not the JSON value null. */
function toolsColumn(tools: string[] | null | undefined): string[] | typeof Prisma.DbNull | undefined {
  return tools === null ? Prisma.DbNull : tools;
}
