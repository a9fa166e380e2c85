import { Injectable } from '@nestjs/common';
import type { ApiKey, Prisma, User } from '../../generated/prisma/client.js';
import { cursorOrder, cursorWhere, type ListQuery } from '../../common/http/pagination.js';
import { uuidv7 } from '../../common/ids.js';
import { PrismaService } from '../../persistence/prisma.service.js';
import { dbOf, Tx } from '../../persistence/transaction-runner.js';

export type ApiKeyRow = ApiKey;
export type ApiKeyWithUser = ApiKey & { user: User };

@Injectable()
export class ApiKeysRepository {
  constructor(private readonly prisma: PrismaService) {}

  create(data: Omit<Prisma.ApiKeyUncheckedCreateInput, 'id'>, tx?: Tx): Promise<ApiKeyRow> {
    return dbOf(tx, this.prisma).apiKey.create({ data: { id: uuidv7(), ...data } });
  }

  /** Creates the key with this id, or un-revokes it (the built-in guest's). */
  upsert(id: string, data: Omit<Prisma.ApiKeyUncheckedCreateInput, 'id'>, tx?: Tx): Promise<ApiKeyRow> {
    return dbOf(tx, this.prisma).apiKey.upsert({ where: { id }, create: { id, ...data }, update: { userId: data.userId, revokedAt: null } });
  }

  findByHash(hash: string): Promise<ApiKeyWithUser | null> {
    return this.prisma.apiKey.findUnique({ where: { hash }, include: { user: true } });
  }

  findWithUser(id: string): Promise<ApiKeyWithUser | null> {
    return this.prisma.apiKey.findUnique({ where: { id }, include: { user: true } });
  }

  findById(id: string): Promise<ApiKeyRow | null> {
    return this.prisma.apiKey.findUnique({ where: { id } });
  }

  listForUser(userId: string, query: ListQuery, includeRevoked: boolean): Promise<ApiKeyRow[]> {
    return this.prisma.apiKey.findMany({
      where: { userId, ...cursorWhere(query), ...(includeRevoked ? {} : { revokedAt: null }) },
      orderBy: cursorOrder(query),
      take: query.limit + 1,
    });
  }

  update(id: string, data: Prisma.ApiKeyUncheckedUpdateInput): Promise<ApiKeyRow> {
    return this.prisma.apiKey.update({ where: { id }, data });
  }

  /** Revokes unless already revoked; answers whether this call did it. */
  async revoke(id: string): Promise<boolean> {
    const { count } = await this.prisma.apiKey.updateMany({
      where: { id, revokedAt: null },
      data: { revokedAt: new Date() },
    });
    return count > 0;
  }

  async touch(id: string, at: Date): Promise<void> {
    await this.prisma.apiKey.update({ where: { id }, data: { lastUsedAt: at } });
  }
}
