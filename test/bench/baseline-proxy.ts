import Fastify from 'fastify';
import { Pool } from 'undici';

/**
 * The yardstick: the least a Fastify + undici gateway can do. POST /v1/chat/completions and
 * POST /chat both forward the request body, unparsed, to the stand-in's /v1/chat/completions
 * and pipe the answer back (status, content-type, body stream). No auth, validation, logging,
 * metering or persistence. Configured by PORT, HOST and UPSTREAM_ORIGIN (http://host:port).
 */

const port = Number(process.env.PORT ?? 3100);
const host = process.env.HOST ?? '127.0.0.1';
const origin = process.env.UPSTREAM_ORIGIN;
if (!origin) {
  process.stderr.write('baseline-proxy: UPSTREAM_ORIGIN is required\n');
  process.exit(78);
}

const upstream = new Pool(origin, { pipelining: 1, keepAliveTimeout: 60_000 });
const app = Fastify({ logger: false, bodyLimit: 25 * 1024 * 1024 });

// Keep the body as bytes: a pass-through proxy has no reason to parse it.
app.removeAllContentTypeParsers();
app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

async function forward(body: unknown, reply: import('fastify').FastifyReply): Promise<void> {
  const res = await upstream.request({
    method: 'POST',
    path: '/v1/chat/completions',
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-bench' },
    body: body as Buffer,
  });
  reply.code(res.statusCode);
  const type = res.headers['content-type'];
  if (type) reply.header('content-type', type);
  return reply.send(res.body);
}

app.post('/v1/chat/completions', (req, reply) => forward(req.body, reply));
app.post('/chat', (req, reply) => forward(req.body, reply));
app.get('/health/ready', async () => ({ status: 'ready' }));

app.listen({ port, host }).then(
  () => process.stdout.write(`LISTENING ${port}\n`),
  (err: unknown) => {
    process.stderr.write(`baseline-proxy: ${String(err)}\n`);
    process.exit(1);
  },
);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
