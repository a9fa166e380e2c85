import { Injectable } from '@nestjs/common';
import { uuidv7 } from '../../common/ids.js';
import { PrismaService } from '../../persistence/prisma.service.js';

/** One executed tool call, as recorded. */
export interface ToolCallRecord {
  userId: string;
  requestId: string;
  conversationId: string | null;
  tool: string;
  source: string;
  durationMs: number;
  ok: boolean;
  errorCode: string | null;
}

@Injectable()
export class ToolCallsRepository {
  constructor(private readonly prisma: PrismaService) {}

  async insertMany(records: readonly ToolCallRecord[]): Promise<void> {
    if (!records.length) return;
    await this.prisma.toolCall.createMany({ data: records.map((r) => ({ id: uuidv7(), ...r })) });
  }
}
