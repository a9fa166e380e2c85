import { Injectable } from '@nestjs/common';
import type { Prisma } from '../generated/prisma/client.js';
import { PrismaService } from './prisma.service.js';

export type Tx = Prisma.TransactionClient;

/**
 * A unit of work across modules: a use case that must write to several aggregates at once (the
 * chat's messages, usage record and totals) runs them in one transaction and hands `tx` to each
 * owning module's service. On PGlite everything inside must use `tx` (single connection).
 */
@Injectable()
export class TransactionRunner {
  constructor(private readonly prisma: PrismaService) {}

  run<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    return this.prisma.$transaction(work, { timeout: 15_000, maxWait: 10_000 });
  }
}
