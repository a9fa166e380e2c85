import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyRequest } from 'fastify';

export const WEB_UI_PATH = '/ui/';

/**
 * The browser UI's own policy: scripts, styles, images and requests from this server only, no
 * inline script or style, never framed; upgrade-insecure-requests only when served over HTTPS (over
 * plain HTTP from another machine it would send the page's assets to a port that is not there).
 */
function contentSecurityPolicy(request: FastifyRequest): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "connect-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    ...(request.protocol === 'https' ? ['upgrade-insecure-requests'] : []),
  ].join('; ');
}

/**
 * Serves the built UI (dist/ui, from `npm run build`) at /ui/: public static assets, as the API
 * they call is authenticated on its own. `/` sends browsers (requests that accept HTML) there; API
 * clients keep getting the index's JSON. Without a build (the sources run by the tests) nothing is
 * served and `/` stays JSON.
 */
export async function registerWebUi(fastify: FastifyInstance, dir: string): Promise<boolean> {
  if (!existsSync(join(dir, 'index.html'))) return false;
  await fastify.register(fastifyStatic, {
    root: dir,
    prefix: WEB_UI_PATH,
    decorateReply: false,
    index: ['index.html'],
    redirect: true,
    // Hashed asset names never change; the page itself is checked every time.
    setHeaders: (res, path) => {
      res.header('cache-control', path.endsWith('.html') ? 'no-cache' : 'public, max-age=31536000, immutable');
    },
  });
  fastify.get('/ui', async (_request, reply) => reply.redirect(WEB_UI_PATH, 301));
  fastify.addHook('onSend', async (request, reply) => {
    if (request.url.startsWith(WEB_UI_PATH) || request.url === '/ui') reply.header('content-security-policy', contentSecurityPolicy(request));
  });
  fastify.addHook('onRequest', async (request, reply) => {
    if (request.method === 'GET' && request.url === '/' && request.headers.accept?.includes('text/html')) {
      await reply.redirect(WEB_UI_PATH, 302);
    }
  });
  return true;
}
