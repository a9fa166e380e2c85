export type BudgetScope = 'user' | 'key';

/** A call's worst case held against one budget. */
export interface BudgetHold {
  scope: BudgetScope;
  scopeId: string;
  period: 'day' | 'month' | 'total';
  periodStart: Date;
  limitMicros: number;
  amountMicros: number;
}

export interface HeldReservation {
  id: string;
  scope: BudgetScope;
  scopeId: string;
  periodStart: Date;
}

/** A hold that does not fit: the budget, and what is spent and reserved against it already. */
export class BudgetRefused extends Error {
  constructor(
    readonly hold: BudgetHold,
    readonly spentMicros: number,
  ) {
    super('budget exhausted');
  }
}

/**
 * The budget counters limits are checked against: per scope and period, what is spent and what
 * calls in flight have reserved. An injectable token: BudgetLedgerRepository keeps them in the
 * database (shared by every replica).
 */
export abstract class BudgetLedger {
  /** Reserves every hold or none (throws BudgetRefused naming the first that does not fit). */
  abstract reserve(holds: BudgetHold[], expiresAt: Date): Promise<HeldReservation[]>;

  /** Releases the reservations and adds the actual cost to what each budget has spent. */
  abstract settle(reservations: HeldReservation[], costMicros: number): Promise<void>;

  /** Releases reservations whose call never settled (its replica died). Answers how many. */
  abstract releaseExpired(now: Date): Promise<number>;

  /** Forgets a scope's counters: the next call re-reads its spend from the usage records. */
  abstract reset(scope: BudgetScope, scopeId: string): Promise<void>;
}

/** The start of the budget period containing `at` (UTC calendar day or month; the epoch for total). */
export function periodStart(period: 'day' | 'month' | 'total', at: Date): Date {
  if (period === 'total') return new Date(0);
  if (period === 'month') return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1));
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()));
}
