import type { DomainError } from './domain-error.js';

/**
 * Recognises an infrastructure error (a database driver's, say) as the DomainError a client
 * should see, or passes (undefined). An injectable token: the persistence module provides the
 * Prisma one; without it nothing is translated.
 */
export abstract class ErrorTranslator {
  abstract translate(err: unknown): DomainError | undefined;

  /** The error as a DomainError when it can be one, else as it was. */
  domain(err: unknown): unknown {
    return this.translate(err) ?? err;
  }
}
