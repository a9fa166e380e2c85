import { type ArgumentMetadata, StandardSchemaValidationPipe } from '@nestjs/common';
import { DomainError } from '../errors/domain-error.js';
import { assertStorable } from '../validation/storable-input.js';

interface Issue {
  message: string;
  path?: ReadonlyArray<PropertyKey | { key: PropertyKey }>;
  code?: string;
  /** zod's invalid_union: the issues of each option. */
  errors?: Issue[][];
}

/** A schema's problems as one 400, naming the first problem's field the way OpenAI does. */
export function invalidRequest(issues: readonly Issue[]): DomainError {
  const first = issues[0] && mostSpecific(issues[0]);
  const param = first?.path?.length ? first.path.map((s) => String(typeof s === 'object' ? s.key : s)).join('.') : null;
  const message = param ? `Invalid '${param}': ${first.message}` : (first?.message ?? 'Invalid request.');
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? 's' : ''})` : '';
  return new DomainError('invalid', message + more, { param });
}

/**
 * A union that matched no option says only "invalid input" at its own path; the option that got
 * furthest (its first problem deepest in the value) says what is really wrong, and where.
 */
function mostSpecific(issue: Issue): Issue {
  if (issue.code !== 'invalid_union' || !issue.errors?.length) return issue;
  const options = issue.errors.filter((e) => e.length);
  if (!options.length) return issue;
  const depth = (e: Issue[]) => e[0].path?.length ?? 0;
  const best = options.reduce((a, b) => (depth(b) > depth(a) ? b : a));
  if (depth(best) === 0 && options.length > 1) return issue;
  const inner = mostSpecific(best[0]);
  return { ...inner, path: [...(issue.path ?? []), ...(inner.path ?? [])] };
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
