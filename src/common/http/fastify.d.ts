import 'fastify';
import type { Caller } from './caller.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** True once shutdown began: streams finishing now close their connection. */
    isClosing(): boolean;
  }

  interface FastifyRequest {
    /** Set by the auth guard once the bearer key is verified. */
    caller?: Caller;
    /** process.hrtime.bigint() at arrival, for latency figures. */
    startedAt?: bigint;
  }
}
