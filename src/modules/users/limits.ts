import { microsToUsd, usdToMicros } from '../../common/money.js';

/** Limit and budget columns shared by users and API keys. */
export interface LimitColumns {
  rpmLimit: number | null;
  tpmLimit: number | null;
  budgetMicros: bigint | null;
  budgetPeriod: 'day' | 'month' | 'total' | null;
}

export interface LimitsInput {
  rpm?: number | null;
  tpm?: number | null;
}

export interface BudgetInput {
  amount_usd: number;
  period: 'day' | 'month' | 'total';
}

/** The columns a PATCH changes: `limits: null` resets both, an omitted field is kept. */
export function limitColumns(limits: LimitsInput | null | undefined, budget: BudgetInput | null | undefined): Partial<LimitColumns> {
  const out: Partial<LimitColumns> = {};
  if (limits === null) {
    out.rpmLimit = null;
    out.tpmLimit = null;
  } else if (limits) {
    if (limits.rpm !== undefined) out.rpmLimit = limits.rpm;
    if (limits.tpm !== undefined) out.tpmLimit = limits.tpm;
  }
  if (budget === null) {
    out.budgetMicros = null;
    out.budgetPeriod = null;
  } else if (budget) {
    out.budgetMicros = usdToMicros(budget.amount_usd);
    out.budgetPeriod = budget.period;
  }
  return out;
}

export function limitsView(row: LimitColumns): { rpm: number | null; tpm: number | null } {
  return { rpm: row.rpmLimit, tpm: row.tpmLimit };
}

export function budgetView(row: LimitColumns): BudgetInput | null {
  if (row.budgetMicros === null || row.budgetPeriod === null) return null;
  return { amount_usd: microsToUsd(row.budgetMicros), period: row.budgetPeriod };
}
