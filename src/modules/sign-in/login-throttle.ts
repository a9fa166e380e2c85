import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { DomainError } from '../../common/errors/domain-error.js';
import { RateLimitStore } from '../../metering/limits/rate-limit-store.js';

const MINUTE_MS = 60_000;
/** Failed sign-ins allowed per minute, per account named and per client IP; the next attempt is a 429. */
export const LOGIN_FAILURES_PER_MINUTE = 5;

/**
 * Counts failed sign-ins in the sliding windows every limit uses (Redis or in memory): each
 * attempt is charged before it is checked, all or nothing on the IP's and the account's windows
 * (so concurrent guesses cannot slip past the count), and refunded when it succeeds. The account
 * is the name or email as typed, so unknown accounts are throttled like real ones.
 */
@Injectable()
export class LoginThrottle {
  constructor(private readonly store: RateLimitStore) {}

  async attempt<T>(ip: string, account: string | null, run: () => Promise<T | null>): Promise<T | null> {
    const keys = [`login:ip:${ip}`, ...(account === null ? [] : [`login:account:${digest(account.toLowerCase())}`])];
    const charge = await this.store.charge(
      keys.map((key) => ({ key, limit: LOGIN_FAILURES_PER_MINUTE })),
      MINUTE_MS,
      1,
    );
    if (!charge.admitted) {
      const seconds = Math.max(1, Math.ceil(charge.retryAfterMs / 1000));
      throw new DomainError('rate_limited', `Too many failed sign-ins; try again in ${seconds}s.`, {
        code: 'too_many_login_attempts',
        retryAfterSeconds: seconds,
      });
    }
    const refund = () => this.store.settle(keys, MINUTE_MS, charge.ticket, -1);
    let result: T | null;
    try {
      result = await run();
    } catch (err) {
      // Not a wrong guess (a disabled account, the database away): not counted.
      await refund();
      throw err;
    }
    if (result !== null) await refund();
    return result;
  }
}

function digest(value: string): string {
  return createHash('sha256').update(value).digest('hex').slice(0, 32);
}
