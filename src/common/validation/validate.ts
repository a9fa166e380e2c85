import type { z } from 'zod';
import { DomainError } from '../errors/domain-error.js';
import { assertStorable } from './storable-input.js';

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
 * A value checked as every request value is, on any transport: the storable-input rule, then
 * the schema; the parsed value, or the 400 naming the first problem.
 */
export function validate<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  assertStorable(value);
  const result = schema.safeParse(value);
  if (!result.success) throw invalidRequest(result.error.issues);
  return result.data;
}
