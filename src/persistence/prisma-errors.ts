import { Injectable } from '@nestjs/common';
import { DomainError } from '../common/errors/domain-error.js';
import { ErrorTranslator } from '../common/errors/error-translator.js';

interface PrismaLikeError {
  name?: string;
  code?: string;
  message?: string;
  meta?: {
    target?: unknown;
    modelName?: string;
    driverAdapterError?: { cause?: { kind?: string; constraint?: { fields?: string[]; index?: string } } };
  };
  cause?: { kind?: string; code?: string };
}

const UNREACHABLE_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024']);
const UNREACHABLE_KINDS = new Set([
  'DatabaseNotReachable',
  'DatabaseDoesNotExist',
  'ConnectionClosed',
  'SocketTimeout',
  'TooManyConnections',
  'TlsConnectionError',
  'AuthenticationFailed',
]);
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', '57P01', '57P03']);

/**
 * How database failures read to a client: a unique violation is a 409, a missing row a 404, and
 * a database that cannot be reached a 503 (retryable), never a 500 with driver text.
 */
export function translatePrismaError(err: unknown): DomainError | undefined {
  const e = err as PrismaLikeError;
  if (!e || typeof e !== 'object') return undefined;
  const kind = e.cause?.kind ?? e.meta?.driverAdapterError?.cause?.kind;
  if (e.name === 'PrismaClientKnownRequestError') {
    if (e.code === 'P2002') {
      const fields = uniqueFields(e);
      return new DomainError('conflict', `A record with this ${fields ?? 'value'} already exists.`, {
        param: fields,
        code: 'already_exists',
      });
    }
    if (e.code === 'P2025') return new DomainError('not_found', 'The record does not exist (anymore).');
    if (e.code === 'P2034') return new DomainError('conflict', 'A concurrent change got there first; retry.');
    if (UNREACHABLE_CODES.has(e.code ?? '')) return unavailable(err);
  }
  if (e.name === 'PrismaClientInitializationError') return unavailable(err);
  if (kind && UNREACHABLE_KINDS.has(kind)) return unavailable(err);
  if (NETWORK_CODES.has(e.code ?? '') || NETWORK_CODES.has(e.cause?.code ?? '')) return unavailable(err);
  if (/Connection terminated|connect ECONNREFUSED|timeout exceeded when trying to connect/i.test(e.message ?? '')) {
    return unavailable(err);
  }
  return undefined;
}

function unavailable(cause: unknown): DomainError {
  return new DomainError('unavailable', 'The database is unavailable; retry shortly.', { retryAfterSeconds: 2, cause });
}

/** Column names are snake_case in the database, as they are in the API. */
function uniqueFields(e: PrismaLikeError): string | null {
  const constraint = e.meta?.driverAdapterError?.cause?.constraint;
  const fields = constraint?.fields ?? (Array.isArray(e.meta?.target) ? (e.meta.target as string[]) : null);
  if (fields?.length) return fields.map((f) => f.replace(/"/g, '')).join(', ');
  const index = constraint?.index ?? (typeof e.meta?.target === 'string' ? e.meta.target : null);
  return index ? index.replace(/^[a-z]+_(\w+)_key$/, '$1') : null;
}

/** The database's errors as clients should read them (provided as the app's ErrorTranslator). */
@Injectable()
export class PrismaErrorTranslator extends ErrorTranslator {
  translate(err: unknown): DomainError | undefined {
    return translatePrismaError(err);
  }
}
