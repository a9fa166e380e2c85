import { Injectable } from '@nestjs/common';
import type { Prisma } from '../generated/prisma/client.js';
import { PrismaService } from './prisma.service.js';

declare const inTransaction: unique symbol;

/**
 * A transaction in progress, as services see it: a token to hand on to the repositories that
 * write inside it, nothing to query with. Only repositories open it (`dbOf`).
 */
export interface Tx {
  readonly [inTransaction]: true;
}

/** The transaction's client for a repository (the default client when there is none). */
export function dbOf(tx: Tx | undefined, prisma: PrismaService): Prisma.TransactionClient {
  return tx ? (tx as unknown as Prisma.TransactionClient) : prisma;
}

/** For the one place a transaction is opened: Prisma's client seen as the opaque Tx. */
export function asTx(client: Prisma.TransactionClient): Tx {
  return client as unknown as Tx;
}

/**
 * A unit of work across modules: a use case that must write to several aggregates at once (the
 * chat's messages, usage record and totals) runs them in one transaction and hands `tx` to each
 * owning module's service. On PGlite everything inside must use `tx` (single connection).
 */
@Injectable()
export class TransactionRunner {
  constructor(private readonly prisma: PrismaService) {}

  run<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    return this.prisma.$transaction((client) => work(asTx(client)), { timeout: 15_000, maxWait: 10_000 });
  }
}
