import { StandardSchemaValidationPipe } from '@nestjs/common';
import { DomainError } from '../errors/domain-error.js';

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

/** Validates @Body/@Query/@Param schemas and reports the first problem the way OpenAI does. */
export const validationPipe = new StandardSchemaValidationPipe({ exceptionFactory: invalidRequest });
