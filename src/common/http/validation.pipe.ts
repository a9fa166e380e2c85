import { type ArgumentMetadata, StandardSchemaValidationPipe } from '@nestjs/common';
import { DomainError } from '../errors/domain-error.js';
import { assertStorable } from '../validation/storable-input.js';

interface Issue {
  message: string;
  path?: ReadonlyArray<PropertyKey | { key: PropertyKey }>;
}

/** A schema's problems as one 400, naming the first problem's field the way OpenAI does. */
export function invalidRequest(issues: readonly Issue[]): DomainError {
  const [first] = issues;
  const param = first?.path?.length ? first.path.map((s) => String(typeof s === 'object' ? s.key : s)).join('.') : null;
  const message = param ? `Invalid '${param}': ${first.message}` : (first?.message ?? 'Invalid request.');
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? 's' : ''})` : '';
  return new DomainError('invalid', message + more, { param });
}

/**
 * Validates @Body/@Query/@Param schemas and reports the first problem the way OpenAI does. Every
 * value first passes the storable-input rule (no NUL, no lone surrogate, bounded nesting), so no
 * route can forget it and no schema walks a value nested deep enough to overflow the stack.
 */
class ValidationPipe extends StandardSchemaValidationPipe {
  override async transform<T = unknown>(value: T, metadata: ArgumentMetadata): Promise<T> {
    if (metadata.type !== 'custom') assertStorable(value, typeof metadata.data === 'string' ? metadata.data : null);
    return super.transform(value, metadata);
  }
}

export const validationPipe = new ValidationPipe({ exceptionFactory: invalidRequest });
