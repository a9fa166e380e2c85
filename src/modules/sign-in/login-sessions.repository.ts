import { Injectable } from '@nestjs/common';
import type { LoginSession } from '../../generated/prisma/client.js';
import { uuidv7 } from '../../common/ids.js';
import { PrismaService } from '../../persistence/prisma.service.js';
import { dbOf, type Tx } from '../../persistence/transaction-runner.js';

export type LoginSessionRow = LoginSession;

@Injectable()
export class LoginSessionsRepository {
  constructor(private readonly prisma: PrismaService) {}

  create(data: { userId: string; apiKeyId: string; tokenHash: string; csrfToken: string; expiresAt: Date }): Promise<LoginSessionRow> {
    return this.prisma.loginSession.create({ data: { id: uuidv7(), ...data } });
  }

  /** Forgets a user's sessions that ended (expired or revoked) before `before`: they can never be used again. */
  async pruneForUser(userId: string, before: Date): Promise<void> {
    await this.prisma.loginSession.deleteMany({ where: { userId, OR: [{ expiresAt: { lt: before } }, { revokedAt: { lt: before } }] } });
  }

  findByTokenHash(tokenHash: string): Promise<LoginSessionRow | null> {
    return this.prisma.loginSession.findUnique({ where: { tokenHash } });
  }

  /** Slides the expiry of a session still live (never brings back one expired or revoked meanwhile). */
  async extend(id: string, now: Date, expiresAt: Date): Promise<void> {
    await this.prisma.loginSession.updateMany({ where: { id, revokedAt: null, expiresAt: { gt: now } }, data: { lastUsedAt: now, expiresAt } });
  }

  async revokeForKey(apiKeyId: string): Promise<void> {
    await this.prisma.loginSession.updateMany({ where: { apiKeyId, revokedAt: null }, data: { revokedAt: new Date() } });
  }

  async revoke(id: string): Promise<void> {
    await this.prisma.loginSession.updateMany({ where: { id, revokedAt: null }, data: { revokedAt: new Date() } });
  }

  async revokeForUser(userId: string, tx: Tx, keepId?: string): Promise<void> {
    await dbOf(tx, this.prisma).loginSession.updateMany({
      where: { userId, revokedAt: null, ...(keepId ? { id: { not: keepId } } : {}) },
      data: { revokedAt: new Date() },
    });
  }
}
