import { Injectable } from '@nestjs/common';
import type { Caller } from '../../common/http/caller.js';
import type { AppLogger } from '../../common/logging/logger.js';
import { InjectLogger } from '../../common/logging/logger.token.js';
import { usdToMicros } from '../../common/money.js';
import { AppConfig } from '../../config/app-config.js';
import { UsersService } from '../users/users.service.js';
import { ApiKeysService } from './api-keys.service.js';

/** The guest's key: fixed like its user, so usage records of every start and replica name the same key. */
export const GUEST_KEY_ID = '00000000-0000-7000-8000-00000000a002';

/**
 * Guest access (`guest.enabled`, GUEST_ACCESS): a request without an Authorization header acts as
 * the built-in `guest` user, always with the role user, its requests charged per client IP as
 * well. The user and its key are made (or brought up to date) at start, before the server is
 * ready; turning guest access off leaves them in place, unused.
 */
@Injectable()
export class GuestAccess {
  constructor(
    private readonly users: UsersService,
    private readonly keys: ApiKeysService,
    private readonly config: AppConfig,
    @InjectLogger() private readonly logger: AppLogger,
  ) {}

  get enabled(): boolean {
    return this.config.guest.enabled;
  }

  /** Whether guests may use every route a user may (`scope: all`), or only the stateless ones. */
  get everyUserRoute(): boolean {
    return this.config.guest.scope === 'all';
  }

  /** Creates or updates the guest user and its key when guest access is on; idempotent. */
  async prepare(): Promise<void> {
    if (!this.enabled) return;
    const { rpmPerIp, dailyBudgetUsd, scope } = this.config.guest;
    const { user } = await this.users.ensureGuest(usdToMicros(dailyBudgetUsd), (userId, tx) => this.keys.ensureGuestKey(userId, GUEST_KEY_ID, tx));
    this.logger.info(
      { userId: user.id, rpmPerIp, dailyBudgetUsd, scope, trustProxy: this.config.http.trustProxy },
      `guest access is ON: requests without a key act as 'guest' (${rpmPerIp} req/min per IP, $${usd(dailyBudgetUsd)}/day) on ${
        scope === 'all'
          ? 'every route a user may use; everything guests store is shared by all guests'
          : 'the stateless routes (/v1/models, /v1/chat/completions, /v1/embeddings, /chat/completion, /chat/stream, /embed)'
      }`,
    );
    if (user.disabled) this.logger.warn({ userId: user.id }, 'the guest user is disabled: requests without a key get 403 until an admin enables it');
  }

  /** The caller of a header-less request from `ip`. */
  async caller(ip: string): Promise<Caller> {
    const caller = await this.keys.cachedCallerForKey(GUEST_KEY_ID);
    // The role is user whatever the row says: a guest is never an admin.
    return { ...caller, role: 'user', guestIp: ip };
  }
}

function usd(amount: number): string {
  return Number.isInteger(amount * 100) ? amount.toFixed(2) : String(amount);
}
