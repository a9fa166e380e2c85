import type { FastifyReply } from 'fastify';
import type { Answer, CallSession } from '../streaming/answer.js';
import { clientDisconnectSignal, SseWriter } from './sse.js';

// The edge between Fastify and the use cases that call models: controllers build the session
// here and put the answer on the reply here; services never see either.

/**
 * What a route hands its use case: the request id, its route as the endpoint, the disconnect
 * signal, and an SSE sink when the client asked to stream (`pingIntervalMs`: a `: ping` after
 * that much silence).
 */
export function callSession(reply: FastifyReply, stream?: { pingIntervalMs: number }): CallSession {
  return {
    requestId: reply.request.id,
    endpoint: reply.request.routeOptions.url ?? reply.request.url,
    signal: clientDisconnectSignal(reply),
    ...(stream ? { sink: new SseWriter(reply, stream) } : {}),
  };
}

/**
 * A use case's answer on the reply: its headers set and its body returned for Nest to send, or
 * nothing when it was streamed (the SSE sink has taken the response over).
 */
export function replyWith<T>(reply: FastifyReply, answer: Answer<T>): T | undefined {
  if (answer.streamed) return undefined;
  reply.headers(answer.headers);
  return answer.body;
}
