import { Injectable } from '@nestjs/common';
import { uuidv7 } from '../../common/ids.js';
import { PrismaService } from '../../persistence/prisma.service.js';
import { BudgetLedger, BudgetRefused, type BudgetHold, type BudgetScope, type HeldReservation } from './budget-ledger.js';

/**
 * The budget counters in the database: reservations take the counter row's lock, so that
 * reservations from any replica are serialised and spent + reserved never passes the budget.
 */
@Injectable()
export class BudgetLedgerRepository extends BudgetLedger {
  constructor(private readonly prisma: PrismaService) {
    super();
  }

  /** Reserves every hold or none (throws BudgetRefused naming the first that does not fit). */
  override async reserve(holds: BudgetHold[], expiresAt: Date): Promise<HeldReservation[]> {
    return this.prisma.$transaction(async (tx) => {
      const held: HeldReservation[] = [];
      for (const hold of holds) {
        const owner = hold.scope === 'user' ? 'user_id' : 'api_key_id';
        // A new period's counter starts from what the records already show for it.
        await tx.$executeRawUnsafe(
          `INSERT INTO budget_counters (scope, scope_id, period_start, spent_micros)
           SELECT $1, $2::uuid, $3, COALESCE(SUM(cost_micros), 0) FROM usage_records WHERE ${owner} = $2::uuid AND created_at >= $3
           ON CONFLICT DO NOTHING`,
          hold.scope,
          hold.scopeId,
          hold.periodStart,
        );
        const rows = await tx.$queryRaw<Array<{ spent: bigint }>>`
          UPDATE budget_counters
          SET reserved_micros = reserved_micros + ${BigInt(hold.amountMicros)}, updated_at = now()
          WHERE scope = ${hold.scope} AND scope_id = ${hold.scopeId}::uuid AND period_start = ${hold.periodStart}
            AND spent_micros + reserved_micros + ${BigInt(hold.amountMicros)} <= ${BigInt(hold.limitMicros)}
          RETURNING spent_micros AS spent`;
        if (!rows.length) {
          const [current] = await tx.$queryRaw<Array<{ spent: bigint; reserved: bigint }>>`
            SELECT spent_micros AS spent, reserved_micros AS reserved FROM budget_counters
            WHERE scope = ${hold.scope} AND scope_id = ${hold.scopeId}::uuid AND period_start = ${hold.periodStart}`;
          throw new BudgetRefused(hold, Number(current?.spent ?? 0n) + Number(current?.reserved ?? 0n));
        }
        const id = uuidv7();
        await tx.$executeRaw`
          INSERT INTO budget_reservations (id, scope, scope_id, period_start, amount_micros, expires_at)
          VALUES (${id}::uuid, ${hold.scope}, ${hold.scopeId}::uuid, ${hold.periodStart}, ${BigInt(hold.amountMicros)}, ${expiresAt})`;
        held.push({ id, scope: hold.scope, scopeId: hold.scopeId, periodStart: hold.periodStart });
      }
      return held;
    });
  }

  /** Releases the reservations and adds the actual cost to what each budget has spent. */
  override async settle(reservations: HeldReservation[], costMicros: number): Promise<void> {
    await this.prisma.$transaction(async (tx) => {
      for (const r of reservations) {
        // A reservation already swept as expired has been released: only the spend is added.
        const released = await tx.$queryRaw<Array<{ amount: bigint }>>`
          DELETE FROM budget_reservations WHERE id = ${r.id}::uuid RETURNING amount_micros AS amount`;
        await tx.$executeRaw`
          UPDATE budget_counters
          SET reserved_micros = reserved_micros - ${released[0]?.amount ?? 0n},
              spent_micros = spent_micros + ${BigInt(costMicros)}, updated_at = now()
          WHERE scope = ${r.scope} AND scope_id = ${r.scopeId}::uuid AND period_start = ${r.periodStart}`;
      }
    });
  }

  /** Releases reservations whose call never settled (its replica died). Answers how many. */
  override async releaseExpired(now: Date): Promise<number> {
    return this.prisma.$transaction(async (tx) => {
      const expired = await tx.$queryRaw<Array<{ scope: string; scope_id: string; period_start: Date; amount: bigint }>>`
        DELETE FROM budget_reservations WHERE expires_at < ${now}
        RETURNING scope, scope_id::text AS scope_id, period_start, amount_micros AS amount`;
      for (const r of expired) {
        await tx.$executeRaw`
          UPDATE budget_counters SET reserved_micros = GREATEST(0, reserved_micros - ${r.amount}), updated_at = now()
          WHERE scope = ${r.scope} AND scope_id = ${r.scope_id}::uuid AND period_start = ${r.period_start}`;
      }
      return expired.length;
    });
  }

  /** Forgets a scope's counters: the next call re-reads its spend from the usage records. */
  override async reset(scope: BudgetScope, scopeId: string): Promise<void> {
    await this.prisma.$executeRaw`DELETE FROM budget_counters WHERE scope = ${scope} AND scope_id = ${scopeId}::uuid`;
  }

  async spent(scope: BudgetScope, scopeId: string, periodStart: Date): Promise<{ spent: number; reserved: number } | null> {
    const [row] = await this.prisma.$queryRaw<Array<{ spent: bigint; reserved: bigint }>>`
      SELECT spent_micros AS spent, reserved_micros AS reserved FROM budget_counters
      WHERE scope = ${scope} AND scope_id = ${scopeId}::uuid AND period_start = ${periodStart}`;
    return row ? { spent: Number(row.spent), reserved: Number(row.reserved) } : null;
  }
}
