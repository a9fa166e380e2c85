import 'fastify';
import type { Caller } from './caller.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the auth guard once the bearer key is verified. */
    caller?: Caller;
    /** process.hrtime.bigint() at arrival, for latency figures. */
    startedAt?: bigint;
  }
}
