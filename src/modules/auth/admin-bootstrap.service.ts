import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '../../config/app-config.js';
import { RUNTIME_OPTIONS, type RuntimeOptions } from '../../config/runtime-options.js';
import type { AppLogger } from '../../common/logging/logger.js';
import { InjectLogger } from '../../common/logging/logger.token.js';
import { PrismaService } from '../../persistence/prisma.service.js';
import { UsersService } from '../users/users.service.js';
import { ApiKeysService } from './api-keys.service.js';
import { GuestAccess } from './guest-access.service.js';

/**
 * On first start (no admin yet) creates one, with COLLOQUY_ADMIN_KEY when set, otherwise with a
 * generated key printed once to stdout as a plain banner line: never to the log, and never when
 * the key came from the environment. Then the guest user, when guest access is on. Requests other
 * than probes wait (503) until this is done.
 */
@Injectable()
export class AdminBootstrap implements OnApplicationBootstrap, OnApplicationShutdown {
  private done = false;
  private stopped = false;

  constructor(
    private readonly prisma: PrismaService,
    private readonly users: UsersService,
    private readonly keys: ApiKeysService,
    private readonly guest: GuestAccess,
    private readonly config: AppConfig,
    @Inject(RUNTIME_OPTIONS) private readonly runtime: RuntimeOptions,
    @InjectLogger() private readonly logger: AppLogger,
  ) {}

  get ready(): boolean {
    return this.done;
  }

  onApplicationBootstrap(): void {
    void this.prisma.whenMigrated().then(() => this.run(500));
  }

  onApplicationShutdown(): void {
    this.stopped = true;
  }

  private async run(retryMs: number): Promise<void> {
    if (this.stopped) return;
    try {
      const envKey = this.config.auth.adminKey;
      const created = await this.users.bootstrapAdmin((userId, tx) =>
        envKey ? this.keys.issueGiven(userId, envKey, tx) : this.keys.issue(userId, { name: 'bootstrap' }, tx),
      );
      if (created) {
        this.logger.info({ userId: created.user_id, keyPrefix: created.prefix }, 'first admin created');
        if (!envKey) {
          const print = this.runtime.banner ?? ((line: string) => process.stdout.write(`${line}\n`));
          print(`Colloquy admin API key (shown once, store it now): ${created.key}`);
        }
      }
      // The guest user, when guest access is on, exists before the first request is served.
      await this.guest.prepare();
      this.done = true;
      // The last step of a start: from here on requests are served (a supervisor can wait for this line).
      this.logger.info('ready for requests');
    } catch (err) {
      this.logger.error({ err: (err as Error).message }, 'admin bootstrap failed; retrying');
      setTimeout(() => void this.run(Math.min(retryMs * 2, 15_000)), retryMs).unref();
    }
  }
}
