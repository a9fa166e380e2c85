import { BudgetLedger, BudgetRefused, type BudgetHold, type BudgetScope, type HeldReservation } from '../../src/metering/limits/budget-ledger.js';

interface Counter {
  spent: number;
  reserved: number;
}

/**
 * The budget ledger in memory, with the rules of BudgetLedgerRepository: a counter starts from
 * what the usage records show for its period, a call reserves every hold or none, settling
 * releases the reservation and adds the cost, and an expired reservation is released.
 */
export class MemoryBudgetLedger extends BudgetLedger {
  /** When set, reserve and settle fail with it (the database is away). */
  failWith: Error | null = null;
  private readonly counters = new Map<string, Counter>();
  private readonly records = new Map<string, number>();
  private readonly reservations = new Map<string, { counter: string; amount: number; expiresAt: Date }>();
  private nextId = 1;

  /** What the usage records already show as spent in a period (the counter starts from it). */
  recorded(scope: BudgetScope, scopeId: string, periodStart: Date, micros: number): void {
    this.records.set(keyOf(scope, scopeId, periodStart), micros);
  }

  /** A counter as the database would show it, or null before any call reserved against it. */
  counter(scope: BudgetScope, scopeId: string, periodStart: Date): Counter | null {
    const c = this.counters.get(keyOf(scope, scopeId, periodStart));
    return c ? { ...c } : null;
  }

  override async reserve(holds: BudgetHold[], expiresAt: Date): Promise<HeldReservation[]> {
    if (this.failWith) throw this.failWith;
    // All or nothing, as in the repository's transaction: nothing is written before every hold fits.
    for (const hold of holds) {
      const key = keyOf(hold.scope, hold.scopeId, hold.periodStart);
      const c = this.counters.get(key) ?? { spent: this.records.get(key) ?? 0, reserved: 0 };
      if (c.spent + c.reserved + hold.amountMicros > hold.limitMicros) throw new BudgetRefused(hold, c.spent + c.reserved);
    }
    return holds.map((hold) => {
      this.counterFor(hold.scope, hold.scopeId, hold.periodStart).reserved += hold.amountMicros;
      const id = `reservation-${this.nextId++}`;
      this.reservations.set(id, { counter: keyOf(hold.scope, hold.scopeId, hold.periodStart), amount: hold.amountMicros, expiresAt });
      return { id, scope: hold.scope, scopeId: hold.scopeId, periodStart: hold.periodStart };
    });
  }

  override async settle(reservations: HeldReservation[], costMicros: number): Promise<void> {
    if (this.failWith) throw this.failWith;
    for (const r of reservations) {
      const c = this.counterFor(r.scope, r.scopeId, r.periodStart);
      const held = this.reservations.get(r.id);
      this.reservations.delete(r.id);
      c.reserved -= held?.amount ?? 0;
      c.spent += costMicros;
    }
  }

  override async releaseExpired(now: Date): Promise<number> {
    let released = 0;
    for (const [id, r] of this.reservations) {
      if (r.expiresAt >= now) continue;
      this.reservations.delete(id);
      const c = this.counters.get(r.counter);
      if (c) c.reserved = Math.max(0, c.reserved - r.amount);
      released++;
    }
    return released;
  }

  override async reset(scope: BudgetScope, scopeId: string): Promise<void> {
    const prefix = `${scope}:${scopeId}:`;
    for (const key of this.counters.keys()) if (key.startsWith(prefix)) this.counters.delete(key);
  }

  private counterFor(scope: BudgetScope, scopeId: string, periodStart: Date): Counter {
    const key = keyOf(scope, scopeId, periodStart);
    let c = this.counters.get(key);
    if (!c) this.counters.set(key, (c = { spent: this.records.get(key) ?? 0, reserved: 0 }));
    return c;
  }
}

function keyOf(scope: BudgetScope, scopeId: string, periodStart: Date): string {
  return `${scope}:${scopeId}:${periodStart.toISOString()}`;
}
