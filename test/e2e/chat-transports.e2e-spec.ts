import { Agent, request, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { connectChatSocket, contentOf, isContent, type ChatSocketClient } from '../support/chat-socket-client.js';
import { client } from '../support/http.js';
import { useStandInApp } from '../support/stand-in-app.js';
import type { Behavior } from '../support/stand-in-upstream.js';
import { usageRecords, waitFor } from '../support/test-app.js';
import { createUser, type TestUser } from '../support/users.js';

/**
 * One table of /chat turns, run over both transports: POST /chat streamed as Server-Sent Events
 * and the WebSocket at /chat/ws. Whatever the case, both must refuse with the same error, store
 * the same messages and write the same usage records: they are one use case behind two edges.
 * Each case runs once per transport for a user of its own; the two outcomes, ids and times left
 * out, are compared with each other and with what the case expects.
 */

/**
 * A refusal or failure: HTTP's status and error envelope, or the socket's error frame. Once the
 * answer has begun, SSE can only say it in-band (its status line went out with the first words):
 * the status is then left out on both.
 */
interface TurnError {
  status: number | null;
  code: string | null;
  type: string;
  param: string | null;
  message: string;
}

/** What the client saw of one turn. */
interface TurnSeen {
  error: TurnError | null;
  /** The answer text received. */
  text: string;
  /** The client left (as the turn asked). */
  left: boolean;
  /** The usage and cost the last chunk carried (a complete answer only). */
  billed: { usage: unknown; cost: number } | null;
}

interface TurnRequest {
  body: Record<string, unknown>;
  /** Sent in the conversation the previous turn created. */
  continues?: boolean;
  /**
   * Leave (HTTP: close the connection; socket: close it) once the first words have arrived, or
   * once the upstream has the call (before any word).
   */
  leave?: 'after-first-words' | 'once-called';
}

/** One open connection: a kept-alive HTTP connection, or a socket. */
interface Connection {
  turn(request: TurnRequest & { conversationId: string | null; called: Promise<unknown> }): Promise<TurnSeen & { conversationId: string | null }>;
  /** TCP connections it used so far (1: every turn went over the same one). */
  connections(): number;
  close(): Promise<void>;
}

interface Transport {
  name: string;
  endpoint: string;
  open(url: string, key: string): Promise<Connection>;
}

/** POST /chat with `stream: true`, every turn on one kept-alive connection (one socket in the agent). */
const sse: Transport = {
  name: 'POST /chat (SSE)',
  endpoint: '/chat',
  async open(url, key) {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const sockets = new Set<Socket>();
    return {
      connections: () => sockets.size,
      close: async () => agent.destroy(),
      turn: ({ body, leave, conversationId, called }) =>
        new Promise((resolve, reject) => {
          const req = request(`${url}/chat`, {
            method: 'POST',
            agent,
            headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          });
          let settled = false;
          const done = (seen: TurnSeen & { conversationId: string | null }) => {
            settled = true;
            resolve(seen);
          };
          req.on('socket', (socket) => sockets.add(socket));
          if (leave === 'once-called') {
            void called.then(() => {
              if (settled) return;
              req.destroy();
              done({ error: null, text: '', left: true, billed: null, conversationId });
            });
          }
          req.on('error', (err) => settled || reject(err));
          req.on('response', (res: IncomingMessage) => {
            let raw = '';
            res.setEncoding('utf8');
            res.on('error', (err) => settled || reject(err));
            if (!String(res.headers['content-type']).startsWith('text/event-stream')) {
              res.on('data', (c: string) => (raw += c));
              res.on('end', () => {
                const { error } = JSON.parse(raw) as { error: Omit<TurnError, 'status'> };
                done({ error: { status: res.statusCode!, ...error }, text: '', left: false, billed: null, conversationId });
              });
              return;
            }
            const id = (res.headers['x-conversation-id'] as string | undefined) ?? conversationId;
            let text = '';
            let billed: TurnSeen['billed'] = null;
            let error: TurnSeen['error'] = null;
            res.on('data', (c: string) => {
              raw += c;
              let end: number;
              while ((end = raw.indexOf('\n\n')) >= 0) {
                const frame = raw.slice(0, end);
                raw = raw.slice(end + 2);
                if (!frame.startsWith('data: ') || frame === 'data: [DONE]') continue;
                const data = JSON.parse(frame.slice(6));
                if (data.error) error = { ...(data.error as Omit<TurnError, 'status'>), status: null };
                if (data.usage) billed = { usage: data.usage, cost: data.cost };
                text += data.choices?.[0]?.delta?.content ?? '';
                if (leave === 'after-first-words' && text && !settled) {
                  // The first words are here: hang up (the connection goes with the request).
                  req.destroy();
                  return done({ error: null, text, left: true, billed: null, conversationId: id });
                }
              }
            });
            res.on('end', () => settled || done({ error, text, left: false, billed, conversationId: id }));
          });
          req.end(JSON.stringify({ ...body, ...(conversationId ? { conversation_id: conversationId } : {}), stream: true }));
        }),
    };
  },
};

/** The WebSocket at /chat/ws: every turn a `chat` message on the one socket. */
const socket: Transport = {
  name: 'WebSocket /chat/ws',
  endpoint: '/chat/ws',
  async open(url, key) {
    const ws: ChatSocketClient = await connectChatSocket(url, { key });
    let n = 0;
    return {
      connections: () => 1,
      close: async () => {
        ws.socket.close();
        await ws.closed;
      },
      turn: async ({ body, leave, conversationId, called }) => {
        const id = `turn-${++n}`;
        ws.send({ type: 'chat', id, ...body, ...(conversationId ? { conversation_id: conversationId } : {}) });
        if (leave === 'once-called') {
          await called;
          ws.socket.close();
          await ws.closed;
          return { error: null, text: '', left: true, billed: null, conversationId };
        }
        if (leave === 'after-first-words') {
          const first = await ws.frame((f) => f.id === id && (isContent(f) || f.type !== 'chunk'));
          if (isContent(first)) {
            ws.socket.close();
            await ws.closed;
            return { error: null, text: contentOf([first]), left: true, billed: null, conversationId };
          }
        }
        const frames = await ws.nextTurn();
        const failedAt = frames.findIndex((f) => f.type === 'error');
        const failed = frames[failedAt];
        const began = frames.slice(0, Math.max(failedAt, 0)).some(isContent);
        const last = frames.filter((f) => f.type === 'chunk').at(-1)?.data;
        return {
          error: failed ? { ...failed.error!, status: began ? null : failed.status! } : null,
          text: contentOf(frames),
          left: false,
          billed: last?.usage ? { usage: last.usage, cost: last.cost } : null,
          conversationId: last?.conversation_id ?? conversationId,
        };
      },
    };
  },
};

/** What one case left behind, without ids or times: what the client saw, what is stored and what is metered. */
interface Outcome {
  turns: TurnSeen[];
  conversations: Array<Record<string, unknown>>;
  records: Array<Record<string, unknown>>;
  usage: Record<string, unknown>;
  stats: Record<string, unknown>;
  upstreamCalls: number;
}

interface Case {
  name: string;
  user?: object;
  /** What the upstream does, call after call (then its default reply). */
  upstream?: Behavior[];
  turns: Array<TurnRequest & { before?: (u: TestUser) => Promise<void> }>;
  /** HTTP closes the connection after this case's first turn (a body it would not read). */
  closesConnection?: boolean;
  /** The server finishes a turn the client left after the client has gone: what to wait for. */
  finished?: (o: Pick<Outcome, 'stats'>) => boolean;
  expected: (o: Outcome) => void;
}

const hello = (content: string, extra: object = {}) => ({ model: 'standin-gpt', messages: [{ role: 'user', content }], ...extra });
const WORDS = 'one two three four five six seven eight nine ten';
/** The error a turn is expected to end with. */
const refused = (status: number | null, code: string, more: Partial<TurnError> = {}) => ({
  status,
  code,
  type: expect.any(String),
  param: null,
  message: expect.any(String),
  ...more,
});

describe('/chat over SSE and over the WebSocket: the same limits, storage and metering', () => {
  const stack = useStandInApp({ RATE_LIMIT_RPM: '1000000', MAX_BODY_MB: '1' });
  const admin = () => client(stack.t.url, stack.t.adminKey);

  const cases: Case[] = [
    {
      name: 'an answer: stored (user and assistant, complete) and metered once, complete',
      turns: [{ body: hello('Hello there') }],
      expected: (o) => {
        expect(o.turns).toEqual([
          {
            error: null,
            text: 'Stand-in reply to: Hello there',
            left: false,
            billed: { usage: expect.objectContaining({ prompt_tokens: expect.any(Number) }), cost: expect.any(Number) },
          },
        ]);
        expect(o.conversations).toEqual([
          expect.objectContaining({
            title: 'Hello there',
            message_count: 2,
            messages: [
              expect.objectContaining({ role: 'user', content: 'Hello there', status: 'complete' }),
              expect.objectContaining({ role: 'assistant', content: 'Stand-in reply to: Hello there', status: 'complete', finish_reason: 'stop' }),
            ],
          }),
        ]);
        expect(o.records).toEqual([expect.objectContaining({ status: 'ok', estimated: false, linked: true, errorCode: null })]);
        expect(o.records[0].costMicros).toBeGreaterThan(0);
        expect(o.usage).toMatchObject({ requests: 1, errors: 0, aborted: 0 });
        expect(o.upstreamCalls).toBe(1);
      },
    },
    {
      name: 'an upstream 500: 502 upstream_error, nothing stored, one error record',
      upstream: [{ kind: 'error', status: 500 }],
      turns: [{ body: hello('doomed') }],
      expected: (o) => {
        expect(o.turns).toEqual([{ error: refused(502, 'upstream_error'), text: '', left: false, billed: null }]);
        expect(o.conversations).toEqual([]);
        expect(o.records).toEqual([expect.objectContaining({ status: 'error', promptTokens: 0, completionTokens: 0, costMicros: 0, linked: false })]);
        expect(o.usage).toMatchObject({ requests: 1, errors: 1, aborted: 0 });
      },
    },
    {
      name: 'an upstream 400: its own status and code, nothing stored, one error record',
      upstream: [{ kind: 'error', status: 400, code: 'invalid_value', message: 'The stand-in does not like this.' }],
      turns: [{ body: hello('rejected') }],
      expected: (o) => {
        expect(o.turns).toEqual([
          { error: refused(400, 'invalid_value', { message: 'The stand-in does not like this.' }), text: '', left: false, billed: null },
        ]);
        expect(o.conversations).toEqual([]);
        expect(o.records).toEqual([expect.objectContaining({ status: 'error', costMicros: 0, linked: false })]);
      },
    },
    {
      name: 'the client leaves after the first words: the partial answer stored incomplete, the call billed as aborted',
      // The upstream sends one word and then nothing: the client leaves on that word.
      upstream: [{ kind: 'stall', afterChunks: 1, text: WORDS }],
      turns: [{ body: hello('Count slowly'), leave: 'after-first-words' }],
      finished: (o) => o.stats.messages === 2,
      expected: (o) => {
        expect(o.turns).toEqual([{ error: null, text: 'one', left: true, billed: null }]);
        expect(o.conversations).toEqual([
          expect.objectContaining({
            messages: [
              expect.objectContaining({ role: 'user', content: 'Count slowly', status: 'complete' }),
              expect.objectContaining({ role: 'assistant', content: 'one', status: 'incomplete' }),
            ],
          }),
        ]);
        expect(o.records).toEqual([expect.objectContaining({ status: 'aborted', estimated: true, linked: true })]);
        expect(o.records[0].promptTokens).toBeGreaterThan(0);
        expect(o.records[0].completionTokens).toBeGreaterThan(0);
        expect(o.records[0].costMicros).toBeGreaterThan(0);
        expect(o.usage).toMatchObject({ requests: 1, errors: 0, aborted: 1 });
      },
    },
    {
      name: 'the client leaves before the first word: no conversation, the call metered as aborted',
      upstream: [{ kind: 'hang' }],
      turns: [{ body: hello('Never mind'), leave: 'once-called' }],
      finished: (o) => o.stats.requests === 1,
      expected: (o) => {
        expect(o.turns).toEqual([{ error: null, text: '', left: true, billed: null }]);
        expect(o.conversations).toEqual([]);
        expect(o.records).toEqual([expect.objectContaining({ status: 'aborted', estimated: true, completionTokens: 0, linked: false })]);
        expect(o.records[0].promptTokens).toBeGreaterThan(0);
        expect(o.usage).toMatchObject({ requests: 1, aborted: 1 });
      },
    },
    {
      name: 'the upstream breaks off after some words: told in-band, the partial answer stored as an error, metered as one',
      upstream: [{ kind: 'break', afterChunks: 2, text: WORDS }],
      turns: [{ body: hello('Go on') }],
      expected: (o) => {
        expect(o.turns).toEqual([{ error: refused(null, 'upstream_error'), text: 'one two', left: false, billed: null }]);
        expect(o.conversations).toEqual([
          expect.objectContaining({
            messages: [
              expect.objectContaining({ role: 'user', status: 'complete' }),
              expect.objectContaining({ role: 'assistant', content: 'one two', status: 'error' }),
            ],
          }),
        ]);
        expect(o.records).toEqual([expect.objectContaining({ status: 'error', errorCode: 'upstream_error', estimated: true, linked: true })]);
        expect(o.records[0].completionTokens).toBeGreaterThan(0);
        expect(o.usage).toMatchObject({ requests: 1, errors: 1 });
      },
    },
    {
      name: 'an unknown model: 404 model_not_found, nothing stored or metered',
      turns: [{ body: hello('Anyone?', { model: 'standin-nope' }) }],
      expected: (o) => {
        expect(o.turns).toEqual([{ error: refused(404, 'model_not_found', { param: 'model' }), text: '', left: false, billed: null }]);
        expect(o.conversations).toEqual([]);
        expect(o.records).toEqual([]);
        expect(o.upstreamCalls).toBe(0);
      },
    },
    {
      name: 'a body over MAX_BODY_MB: 413 request_too_large, not charged to requests per minute, nothing stored or metered',
      user: { limits: { rpm: 1 } },
      closesConnection: true,
      turns: [{ body: hello('x'.repeat(1_100_000)) }, { body: hello('Small now') }],
      expected: (o) => {
        expect(o.turns[0]).toEqual({
          error: refused(413, 'request_too_large', { message: 'Request body is larger than the configured limit.' }),
          text: '',
          left: false,
          billed: null,
        });
        // The refused body did not use the one request a minute: the next turn is answered.
        expect(o.turns[1]).toMatchObject({ error: null, text: 'Stand-in reply to: Small now' });
        expect(o.records).toHaveLength(1);
        expect(o.upstreamCalls).toBe(1);
      },
    },
    {
      name: 'an invalid turn is refused 400 and still charged to requests per minute, as HTTP charges before validation',
      user: { limits: { rpm: 1 } },
      turns: [{ body: { model: 'standin-gpt', messages: [] } }, { body: hello('Valid now') }],
      expected: (o) => {
        expect(o.turns.map((t) => t.error)).toEqual([
          refused(400, 'invalid_request', { param: 'messages' }),
          refused(429, 'rate_limit_exceeded', { type: 'requests' }),
        ]);
        expect(o.conversations).toEqual([]);
        expect(o.records).toEqual([]);
      },
    },
    {
      name: 'a turn over the tokens-per-minute limit whatever the window holds: 429 rate_limit_exceeded, nothing stored or metered',
      user: { limits: { tpm: 5 } },
      turns: [{ body: hello('far more than five tokens of prompt here') }],
      expected: (o) => {
        expect(o.turns).toEqual([{ error: refused(429, 'rate_limit_exceeded', { type: 'tokens' }), text: '', left: false, billed: null }]);
        expect(o.conversations).toEqual([]);
        expect(o.records).toEqual([]);
        expect(o.upstreamCalls).toBe(0);
      },
    },
    {
      name: 'a second turn once the first filled the tokens-per-minute window: 429 rate_limit_exceeded, the conversation keeps the first',
      user: { limits: { tpm: 300 } },
      // The first turn settles to 20 + 200 tokens; the second may use its prompt and 100 more.
      upstream: [{ kind: 'reply', text: 'Plenty.', usage: { prompt_tokens: 20, completion_tokens: 200 } }],
      turns: [{ body: hello('First', { max_tokens: 200 }) }, { body: hello('Second', { max_tokens: 100 }), continues: true }],
      expected: (o) => {
        expect(o.turns.map((t) => t.error)).toEqual([null, refused(429, 'rate_limit_exceeded', { type: 'tokens' })]);
        expect(o.conversations).toEqual([expect.objectContaining({ message_count: 2, prompt_tokens: 20, completion_tokens: 200 })]);
        expect(o.records).toEqual([expect.objectContaining({ status: 'ok', promptTokens: 20, completionTokens: 200 })]);
        expect(o.upstreamCalls).toBe(1);
      },
    },
    {
      name: 'a second turn over the requests-per-minute limit: 429 rate_limit_exceeded (requests)',
      user: { limits: { rpm: 1 } },
      turns: [{ body: hello('Once') }, { body: hello('Twice'), continues: true }],
      expected: (o) => {
        expect(o.turns.map((t) => t.error)).toEqual([null, refused(429, 'rate_limit_exceeded', { type: 'requests' })]);
        expect(o.conversations).toEqual([expect.objectContaining({ message_count: 2 })]);
        expect(o.records).toEqual([expect.objectContaining({ status: 'ok' })]);
      },
    },
    {
      name: 'a turn whose worst case no longer fits the budget: 429 insufficient_quota, the conversation keeps the first',
      // Each turn's answer costs 100 × $2.50 + 100 × $10 per 1M = $0.00125 of the $0.0025; the
      // second may cost up to 150 output tokens ($0.0015) and more than $0.00125 is not left.
      user: { budget: { amount_usd: 0.0025, period: 'day' } },
      upstream: [{ kind: 'reply', text: 'Paid for.', usage: { prompt_tokens: 100, completion_tokens: 100 } }],
      turns: [{ body: hello('Spend', { max_tokens: 100 }) }, { body: hello('Spend more', { max_tokens: 150 }), continues: true }],
      expected: (o) => {
        expect(o.turns.map((t) => t.error)).toEqual([null, refused(429, 'insufficient_quota', { type: 'insufficient_quota' })]);
        expect(o.conversations).toEqual([expect.objectContaining({ message_count: 2, cost_usd: 0.00125 })]);
        expect(o.records).toEqual([expect.objectContaining({ status: 'ok', costMicros: 1_250 })]);
        expect(o.upstreamCalls).toBe(1);
      },
    },
    {
      name: 'the key revoked between two turns on one connection: the second refused 401, nothing more stored or metered',
      turns: [
        { body: hello('Before') },
        {
          body: hello('After'),
          continues: true,
          before: async (u) => {
            expect((await admin().delete(`/keys/${u.keyId}`)).status).toBe(200);
          },
        },
      ],
      expected: (o) => {
        expect(o.turns.map((t) => t.error)).toEqual([null, refused(401, 'invalid_api_key')]);
        expect(o.conversations).toEqual([expect.objectContaining({ message_count: 2 })]);
        expect(o.records).toEqual([expect.objectContaining({ status: 'ok' })]);
        expect(o.upstreamCalls).toBe(1);
      },
    },
    {
      name: 'the user disabled between two turns on one connection: the second refused 403 account_disabled',
      turns: [
        { body: hello('Before') },
        {
          body: hello('After'),
          continues: true,
          before: async (u) => {
            expect((await admin().patch(`/users/${u.id}`, { disabled: true })).status).toBe(200);
          },
        },
      ],
      expected: (o) => {
        expect(o.turns.map((t) => t.error)).toEqual([null, refused(403, 'account_disabled')]);
        expect(o.conversations).toEqual([expect.objectContaining({ message_count: 2 })]);
        expect(o.records).toEqual([expect.objectContaining({ status: 'ok' })]);
      },
    },
  ];

  /** Runs a case over one transport for a new user; answers what it left behind. */
  async function run(c: Case, transport: Transport): Promise<Outcome & { connections: number }> {
    const { t, upstream } = stack;
    upstream.reset();
    upstream.script(...(c.upstream ?? []));
    const u = await createUser(t.url, t.adminKey, { user: c.user });
    const before = upstream.requests.length;
    const connection = await transport.open(t.url, u.key);
    const turns: TurnSeen[] = [];
    let conversationId: string | null = null;
    let connections: number;
    try {
      for (const turn of c.turns) {
        await turn.before?.(u);
        const called = upstream.nextRequest();
        const { conversationId: id, ...seen } = await connection.turn({ ...turn, conversationId: turn.continues ? conversationId : null, called });
        conversationId = id ?? conversationId;
        // How long to wait depends on when in the window the refusal fell (60 s or 61 s, rounded up): not on the transport.
        if (seen.error) seen.error = { ...seen.error, message: seen.error.message.replace(/try again in \d+s/, 'try again in 60s') };
        turns.push(seen);
      }
      connections = connection.connections();
    } finally {
      await connection.close();
    }
    // The server has let the upstream go (it never answers a client that left on its own).
    await upstream.idle();
    // Read back as the admin: the user's key may be revoked by now.
    const api = admin();
    const stats = async () => (await api.get(`/users/${u.id}/stats`)).body;
    // A turn the client left is finished by the server after the client has gone, and nothing the
    // client can see marks the moment: only there does the test wait for the stored result.
    if (c.finished) await waitFor(async () => c.finished!({ stats: await stats() }));

    const list = (await api.get(`/conversations?user_id=${u.id}&limit=100`)).body;
    const conversations = await Promise.all(
      (list.data ?? []).map(async (conv: Record<string, unknown> & { id: string }) => {
        const messages = (await api.get(`/conversations/${conv.id}/messages?order=asc&limit=100`)).body.data;
        return {
          ...pick(conv, [
            'title',
            'model',
            'profile',
            'message_count',
            'prompt_tokens',
            'completion_tokens',
            'total_tokens',
            'cost_usd',
            'tags',
            'metadata',
          ]),
          messages: messages.map((m: Record<string, unknown>) =>
            pick(m, ['role', 'content', 'name', 'tool_calls', 'model', 'status', 'finish_reason', 'tokens', 'usage']),
          ),
        };
      }),
    );
    const records = (await usageRecords(t))
      .filter((r) => r.userId === u.id)
      .map((r) => {
        expect(r.endpoint).toBe(transport.endpoint);
        return {
          status: r.status,
          estimated: r.estimated,
          errorCode: r.errorCode,
          requestedModel: r.requestedModel,
          upstreamModel: r.upstreamModel,
          promptTokens: r.promptTokens,
          completionTokens: r.completionTokens,
          cachedTokens: r.cachedTokens,
          costMicros: Number(r.costMicros),
          linked: r.conversationId !== null,
          inSession: r.sessionId !== null,
          byKey: r.apiKeyId === u.keyId,
        };
      });
    const report = (await api.get(`/usage?group_by=model&user_id=${u.id}`)).body;
    const totals = await stats();
    return {
      turns,
      conversations,
      records,
      usage: { ...report.totals, by_model: report.data },
      stats: pick(totals, [
        'conversations',
        'sessions',
        'messages',
        'requests',
        'errors',
        'aborted',
        'prompt_tokens',
        'completion_tokens',
        'cost_usd',
      ]),
      upstreamCalls: upstream.requests.length - before,
      connections,
    };
  }

  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const { connections: overHttp, ...http } = await run(c, sse);
    const { connections: _overSocket, ...ws } = await run(c, socket);
    // Every turn of a case went over one kept-alive connection.
    expect(overHttp).toBe(c.closesConnection ? 2 : 1);
    expect(ws).toEqual(http);
    c.expected(http);
  });
});

function pick(o: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.map((k) => [k, o[k]]));
}
