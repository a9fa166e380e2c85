import { DomainError } from '../errors/domain-error.js';
import type { ChunkSink } from './chunk-sink.js';

/**
 * What the edge hands a use case that calls a model: the request's id, a signal that fires when
 * the client leaves, and, when the client asked to stream, the sink to stream into.
 */
export interface CallSession {
  requestId: string;
  /** What the usage record names as the call's way in: the route, `/chat/ws`, `/jobs`. */
  endpoint: string;
  signal: AbortSignal;
  sink?: ChunkSink;
}

/** A use case's answer: a body with the headers it goes with, or the news that it was streamed to the sink. */
export type Answer<T> = { streamed: false; body: T; headers: Record<string, string> } | { streamed: true };

export function answer<T>(body: T, headers: Record<string, string> = {}): Answer<T> {
  return { streamed: false, body, headers };
}

export const STREAMED: Answer<never> = { streamed: true };

/** The client left before anything was answered: there is nobody to answer (nothing is sent). */
export function clientLeft(): DomainError {
  return new DomainError('unavailable', 'The request was aborted by the client.', { code: 'client_closed' });
}
