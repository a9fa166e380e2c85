import { Injectable } from '@nestjs/common';
import type { File, Prisma } from '../../generated/prisma/client.js';
import { cursorOrder, cursorWhere, type ListQuery } from '../../common/http/pagination.js';
import { PrismaService } from '../../persistence/prisma.service.js';

export type FileRow = File;
/** A file row without its extracted text (lists and metadata never need it). */
export type FileMeta = Omit<File, 'text'>;

const META = {
  id: true,
  userId: true,
  filename: true,
  mimeType: true,
  kind: true,
  bytes: true,
  sha256: true,
  storageKey: true,
  purpose: true,
  pages: true,
  textTokens: true,
  status: true,
  createdAt: true,
} as const satisfies Prisma.FileSelect;

@Injectable()
export class FilesRepository {
  constructor(private readonly prisma: PrismaService) {}

  create(data: Prisma.FileUncheckedCreateInput): Promise<FileMeta> {
    return this.prisma.file.create({ data, select: META });
  }

  findMeta(id: string): Promise<FileMeta | null> {
    return this.prisma.file.findUnique({ where: { id }, select: META });
  }

  /** The caller's files among `ids`, with their text (for building prompts). */
  findOwnedWithText(userId: string, ids: string[]): Promise<FileRow[]> {
    return this.prisma.file.findMany({ where: { userId, id: { in: ids } } });
  }

  list(userId: string, query: ListQuery, filters: { purpose?: string; conversationId?: string }): Promise<FileMeta[]> {
    return this.prisma.file.findMany({
      where: {
        userId,
        ...cursorWhere(query),
        ...(filters.purpose ? { purpose: filters.purpose } : {}),
        ...(filters.conversationId ? { messages: { some: { message: { conversationId: filters.conversationId } } } } : {}),
      },
      orderBy: cursorOrder(query),
      take: query.limit + 1,
      select: META,
    });
  }

  /** Files attached to any message of a conversation, oldest first. */
  forConversation(conversationId: string): Promise<FileMeta[]> {
    return this.prisma.file.findMany({
      where: { messages: { some: { message: { conversationId } } } },
      orderBy: { id: 'asc' },
      select: META,
    });
  }

  async setPurpose(ids: string[], purpose: string): Promise<void> {
    await this.prisma.file.updateMany({ where: { id: { in: ids } }, data: { purpose } });
  }

  async delete(id: string): Promise<void> {
    await this.prisma.file.delete({ where: { id } });
  }
}
