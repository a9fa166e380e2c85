/** Money is kept in micro-dollars (integers): one USD is a million of them. */
export const MICROS_PER_USD = 1_000_000;

export function usdToMicros(usd: number): bigint {
  return BigInt(Math.round(usd * MICROS_PER_USD));
}

export function microsToUsd(micros: bigint | number): number {
  return Number(micros) / MICROS_PER_USD;
}
