// Tools: built-ins, plugin files, a real stdio MCP server (@modelcontextprotocol/server-everything)
// and a streamable-HTTP one made of the SDK's server classes; the routes (GET /tools, POST
// /tools/{name}/call, Smart-Host's POST /call_tool), who may use what, and /chat's tool loop
// against the stand-in upstream, blocking and streamed (parsed by the official openai SDK).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Stream } from 'openai/core/streaming';
import { ChatCompletionStream } from 'openai/lib/ChatCompletionStream';
import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import { McpServers } from '../../src/modules/tools/mcp/mcp-servers.js';
import { connectChatSocket } from '../support/chat-socket-client.js';
import { client, expectError } from '../support/http.js';
import { startMcpHttpServer, type McpHttpServer } from '../support/mcp-http-server.js';
import { assertOpenAI } from '../support/openai-schemas.js';
import { startStandInUpstream, type StandInUpstream } from '../support/stand-in-upstream.js';
import { clearUsageRecords, startTestApp, usageRecords, waitFor, type TestApp } from '../support/test-app.js';
import { writeTestConfig } from '../support/test-config.js';
import { createUser } from '../support/users.js';

/** The body of the i-th request the stand-in upstream received. */
let sent: (i: number) => any;

const EVERYTHING = join(process.cwd(), 'node_modules/@modelcontextprotocol/server-everything/dist/index.js');

const PLUGINS: Record<string, string> = {
  'shout.mjs': `
export const name = 'shout';
export const description = 'Upper-cases a text.';
export const parameters = { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] };
export async function run(args, ctx) {
  return { shouted: args.text.toUpperCase(), user: ctx.userId, aborted: ctx.signal.aborted };
}`,
  'broken.mjs': `
export default {
  name: 'broken',
  description: 'Always fails.',
  parameters: { type: 'object', properties: {} },
  run() { throw new Error('the plugin broke'); },
};`,
  'slow.mjs': `
export const name = 'slow';
export const parameters = { type: 'object', properties: {} };
export function run(args, ctx) {
  const seen = (globalThis.colloquySlowTool = { started: true, aborted: false });
  return new Promise((resolve, reject) =>
    ctx.signal.addEventListener('abort', () => {
      seen.aborted = true;
      reject(new Error('stopped'));
    }),
  );
}`,
  'verbose.mjs': `
export const name = 'verbose';
export const parameters = { type: 'object', properties: {} };
export function run() { return 'word '.repeat(5000); }`,
  'not-a-tool.mjs': `export const hello = 'world';`,
};

type Chunk = ChatCompletionChunk & { colloquy?: any; conversation_id?: string; cost?: number };

describe('Tools', () => {
  let upstream: StandInUpstream;
  let remote: McpHttpServer;
  let t: TestApp;
  let admin: ReturnType<typeof client>;
  let pluginsDir: string;

  beforeAll(async () => {
    upstream = await startStandInUpstream();
    sent = (i) => upstream.requests[i].body;
    remote = await startMcpHttpServer();
    pluginsDir = mkdtempSync(join(tmpdir(), 'colloquy-plugins-'));
    for (const [file, source] of Object.entries(PLUGINS)) writeFileSync(join(pluginsDir, file), source);
    const config = writeTestConfig(
      { primary: upstream.baseUrl },
      {
        tools: { plugins_dir: pluginsDir, max_result_tokens: 100 },
        mcp_servers: [
          { name: 'everything', type: 'stdio', command: process.execPath, args: [EVERYTHING, 'stdio'] },
          { name: 'capitals', type: 'streamable-http', url: remote.url, headers: { Authorization: 'Bearer ${CAPITALS_TOKEN}' } },
        ],
      },
    );
    t = await startTestApp({
      env: { CONFIG_FILE: config, UPSTREAM_MAX_RETRIES: '0', TOOLS_TIMEOUT_MS: '1000', CAPITALS_TOKEN: 'secret-capitals-token' },
    });
    admin = client(t.url, t.adminKey);
    await waitFor(async () => {
      const list = await admin.get('/tools');
      return ['everything.add', 'capitals.lookup'].every((name) => list.body.data?.some((tool: any) => tool.name === name && tool.available));
    }, 20_000);
  });
  afterAll(async () => {
    await t?.close();
    await remote?.close();
    await upstream?.close();
    rmSync(pluginsDir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    upstream.reset();
    await clearUsageRecords(t);
  });

  describe('GET /tools and POST /call_tool', () => {
    it('lists every source for an admin, each with its schema, source and availability', async () => {
      const list = await admin.get('/tools');
      expect(list.status).toBe(200);
      const byName = Object.fromEntries(list.body.data.map((tool: any) => [tool.name, tool]));
      expect(Object.keys(byName)).toEqual(expect.arrayContaining(['current_time', 'calculator', 'search_conversations', 'read_file']));
      expect(Object.keys(byName)).toEqual(
        expect.arrayContaining(['shout', 'broken', 'slow', 'everything.echo', 'everything.add', 'capitals.lookup']),
      );
      expect(byName).not.toHaveProperty('hello');
      expect(byName.calculator).toMatchObject({ object: 'tool', source: 'builtin', available: true, input_schema: { required: ['expression'] } });
      expect(byName.shout).toMatchObject({ source: 'plugin', description: 'Upper-cases a text.' });
      expect(byName['everything.add']).toMatchObject({ source: 'mcp:everything', available: true, input_schema: { properties: { a: {}, b: {} } } });
      expect(byName['capitals.lookup']).toMatchObject({ source: 'mcp:capitals' });
      // Smart-Host's answer: the names alone.
      expect(list.body.tools).toEqual(list.body.data.map((tool: any) => tool.name));

      const one = await admin.get('/tools/everything.add');
      expect(one.body).toEqual(byName['everything.add']);
      expectError(await admin.get('/tools/nope'), 404, 'tool_not_found');
    });

    it("answers Smart-Host's exact POST /call_tool body, positional args mapped onto the schema", async () => {
      const add = await admin.post('/call_tool', { name: 'everything.add', args: [2, 3], kwargs: {} });
      expect(add.status).toBe(200);
      expect(add.body).toMatchObject({ result: expect.stringContaining('5'), is_error: false, duration_ms: expect.any(Number) });
      expect(add.body.content).toEqual([{ type: 'text', text: expect.stringContaining('5') }]);

      const calc = await admin.post('/call_tool', { name: 'calculator', args: [], kwargs: { expression: '(2 + 5) * 6' } });
      expect(calc.body).toMatchObject({ result: { expression: '(2 + 5) * 6', result: 42 }, is_error: false });

      const echo = await admin.post('/tools/everything.echo/call', { arguments: { message: 'hello there' } });
      expect(echo.body).toMatchObject({ content: [{ type: 'text', text: expect.stringContaining('hello there') }], is_error: false });

      const capital = await admin.post('/call_tool', { name: 'capitals.lookup', args: ['Norway'] });
      expect(capital.body).toMatchObject({ result: 'Oslo', is_error: false });
      // The header's ${CAPITALS_TOKEN} was filled in from the environment.
      expect(remote.authorizations).toContain('Bearer secret-capitals-token');
      const unknown = await admin.post('/tools/capitals.lookup/call', { arguments: { country: 'Atlantis' } });
      expect(unknown.body).toMatchObject({ is_error: true, content: [{ type: 'text', text: 'No capital known for Atlantis' }] });

      const shout = await admin.post('/tools/shout/call', { arguments: { text: 'quiet' } });
      expect(shout.body.content).toEqual({ shouted: 'QUIET', user: expect.any(String), aborted: false });

      const records = await t.prisma.toolCall.findMany({ orderBy: { createdAt: 'asc' } });
      expect(records.map((r) => [r.tool, r.source, r.ok])).toEqual(
        expect.arrayContaining([
          ['everything.add', 'mcp:everything', true],
          ['calculator', 'builtin', true],
          ['capitals.lookup', 'mcp:capitals', false],
          ['shout', 'plugin', true],
        ]),
      );
    });

    it('refuses what a tool cannot use with 400 invalid_tool_arguments, never a made-up result', async () => {
      const parse = expectError(await admin.post('/call_tool', { name: 'calculator', args: ['2 +* 3'] }), 400, 'invalid_tool_arguments');
      expect(parse).toMatchObject({ param: 'arguments.expression', message: expect.stringContaining('cannot be evaluated') });
      const zone = expectError(await admin.post('/tools/current_time/call', { arguments: { timezone: 'Mars/Base' } }), 400, 'invalid_tool_arguments');
      expect(zone.param).toBe('arguments.timezone');
      const schema = expectError(await admin.post('/tools/everything.add/call', { arguments: { a: 'two', b: 3 } }), 400, 'invalid_tool_arguments');
      expect(schema).toMatchObject({ param: 'arguments.a', message: expect.stringContaining('must be number') });
      const missing = expectError(await admin.post('/tools/calculator/call', { arguments: {} }), 400, 'invalid_tool_arguments');
      expect(missing.param).toBe('arguments.expression');
      expectError(await admin.post('/call_tool', { name: 'calculator', args: ['1', '2'] }), 400, 'invalid_tool_arguments');
      expectError(await admin.post('/call_tool', { name: 'nothing-here', args: [] }), 404, 'tool_not_found');
      expectError(await admin.post('/call_tool', { args: [] }), 400);
    });

    it('answers 502 tool_failed for a tool that throws and 504 tool_timeout for one past TOOLS_TIMEOUT_MS', async () => {
      const failed = expectError(await admin.post('/tools/broken/call', { arguments: {} }), 502, 'tool_failed');
      expect(failed.message).toContain('the plugin broke');
      const slow = expectError(await admin.post('/call_tool', { name: 'slow', args: [] }), 504, 'tool_timeout');
      expect(slow.message).toContain('1000 ms');
      const records = await t.prisma.toolCall.findMany({ where: { tool: { in: ['broken', 'slow'] } } });
      expect(records.map((r) => [r.tool, r.ok, r.errorCode]).sort()).toEqual([
        ['broken', false, 'tool_failed'],
        ['slow', false, 'tool_timeout'],
      ]);
    });

    it('searches only the caller’s own messages and reads only their own files', async () => {
      const ada = await createUser(t.url, t.adminKey);
      const bob = await createUser(t.url, t.adminKey);
      await ada.api.post('/chat', { model: 'standin-gpt', messages: [{ role: 'user', content: 'Remember the pelican migration plan' }] });
      await bob.api.post('/chat', { model: 'standin-gpt', messages: [{ role: 'user', content: 'My pelican is secret' }] });
      const found = await ada.api.post('/tools/search_conversations/call', { arguments: { query: 'PELICAN' } });
      expect(found.body.content.results).toEqual([
        expect.objectContaining({
          conversation_id: expect.any(String),
          title: 'Remember the pelican migration plan',
          last_used_at: expect.any(Number),
        }),
      ]);
      expect(found.body.content.results[0].snippets).toContainEqual({ role: 'user', text: 'Remember the pelican migration plan' });
      expect(JSON.stringify(found.body.content)).not.toContain('secret');

      const form = new FormData();
      form.append('file', new Blob(['The treaty was signed in 1648 in Westphalia.'], { type: 'text/plain' }), 'treaty.txt');
      const upload = await ada.api.post('/files/upload', form);
      const fileId = upload.body.data?.[0]?.id ?? upload.body.id ?? upload.body[0]?.id;
      const read = await ada.api.post('/tools/read_file/call', { arguments: { file_id: fileId } });
      expect(read.body.content).toMatchObject({ filename: 'treaty.txt', truncated: false, text: 'The treaty was signed in 1648 in Westphalia.' });
      expectError(await bob.api.post('/tools/read_file/call', { arguments: { file_id: fileId } }), 404);
    });
  });

  it('documents the routes and the loop fields in the OpenAPI document', async () => {
    const doc = (await admin.get('/docs-json', { key: null })).body;
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/tools', '/tools/{name}', '/tools/{name}/call', '/call_tool']));
    expect(Object.keys(doc.paths['/call_tool'].post.responses)).toEqual(expect.arrayContaining(['200', '400', '404', '502', '503', '504']));
    expect(doc.components.schemas.SmartHostCallToolRequest.properties).toMatchObject({ name: {}, args: {}, kwargs: {} });
    expect(doc.components.schemas.ChatRequest.properties).toMatchObject({
      server_tools: { description: expect.any(String) },
      max_tool_rounds: { maximum: 20 },
    });
    expect(doc.components.schemas.Tool.properties).toMatchObject({ name: {}, description: {}, input_schema: {}, source: {}, available: {} });
  });

  describe('who may use what', () => {
    it('gives a user key the built-ins only, until PATCH /users/{id} gives it more; a tool it may not use is 404', async () => {
      const user = await createUser(t.url, t.adminKey);
      const names = async () => (await user.api.get('/tools')).body.tools;
      expect((await names()).sort()).toEqual(['calculator', 'current_time', 'read_file', 'search_conversations']);
      expectError(await user.api.get('/tools/everything.add'), 404, 'tool_not_found');
      expectError(await user.api.post('/call_tool', { name: 'everything.add', args: [1, 2] }), 404, 'tool_not_found');
      expectError(await user.api.post('/tools/shout/call', { arguments: { text: 'x' } }), 404, 'tool_not_found');
      expectError(
        await user.api.post('/chat', { model: 'standin-gpt', server_tools: ['everything.add'], messages: [{ role: 'user', content: 'add' }] }),
        404,
        'tool_not_found',
      );
      expect(upstream.requests).toHaveLength(0);

      const patched = await admin.patch(`/users/${user.id}`, { tools: ['calculator', 'mcp:everything'] });
      expect(patched.body.tools).toEqual(['calculator', 'mcp:everything']);
      expect((await names()).sort()).toEqual(expect.arrayContaining(['calculator', 'everything.add', 'everything.echo']));
      expect(await names()).not.toContain('current_time');
      expect((await user.api.post('/call_tool', { name: 'everything.add', args: [1, 2] })).body.result).toContain('3');

      await admin.patch(`/users/${user.id}`, { tools: null });
      expect((await names()).sort()).toEqual(['calculator', 'current_time', 'read_file', 'search_conversations']);
    });

    it('never runs a tool the model calls that the caller may not use: the model is told it is unknown', async () => {
      const user = await createUser(t.url, t.adminKey);
      upstream.script({ kind: 'tool_call', name: 'everything__echo', arguments: '{"message":"leak"}' }, { kind: 'reply', text: 'ok' });
      const res = await user.api.post('/chat', { model: 'standin-gpt', server_tools: 'auto', messages: [{ role: 'user', content: 'echo' }] });
      expect(res.status).toBe(200);
      const offered = sent(0)
        .tools.map((tool: any) => tool.function.name)
        .sort();
      expect(offered).toEqual(['calculator', 'current_time', 'read_file', 'search_conversations']);
      const toolMessage = sent(1).messages.at(-1);
      expect(toolMessage).toMatchObject({ role: 'tool', content: expect.stringContaining('tool_not_found') });
      expect(res.body.colloquy.tool_calls).toEqual([expect.objectContaining({ name: 'everything.echo', is_error: true })]);
      const records = await t.prisma.toolCall.findMany({ where: { userId: user.id } });
      expect(records).toEqual([expect.objectContaining({ tool: 'everything.echo', ok: false, errorCode: 'tool_not_found', durationMs: 0 })]);
    });
  });

  describe('the /chat tool loop', () => {
    const askBoth = () =>
      upstream.script(
        {
          kind: 'tool_call',
          calls: [
            { name: 'everything__add', arguments: '{"a":2,"b":3}' },
            { name: 'calculator', arguments: '{"expression":"6 * 7"}' },
          ],
          usage: { prompt_tokens: 100, completion_tokens: 20 },
        },
        { kind: 'reply', text: 'The sum is 5 and the product 42.', usage: { prompt_tokens: 180, completion_tokens: 12 } },
      );
    const body = {
      model: 'standin-gpt',
      server_tools: ['everything.add', 'calculator'],
      messages: [{ role: 'user', content: 'What are 2+3 and 6*7?' }],
    };

    it('runs the tools the model asks for, sends their results back, and meters and stores every round', async () => {
      askBoth();
      const res = await admin.post('/chat', body);
      expect(res.status).toBe(200);
      assertOpenAI('CreateChatCompletionResponse', res.body);
      expect(res.body.choices[0]).toMatchObject({
        finish_reason: 'stop',
        message: { role: 'assistant', content: 'The sum is 5 and the product 42.' },
      });
      expect(res.body.choices[0].message.tool_calls).toBeUndefined();
      expect(res.body.usage).toMatchObject({ prompt_tokens: 280, completion_tokens: 32, total_tokens: 312 });
      // 280 prompt tokens at $2.5/M and 32 completion tokens at $10/M.
      expect(res.body.cost).toBeCloseTo((280 * 2.5 + 32 * 10) / 1e6, 9);
      expect(res.body.colloquy).toMatchObject({
        tool_rounds: 1,
        tool_calls: [
          { name: 'everything.add', is_error: false, preview: expect.stringContaining('5') },
          { name: 'calculator', is_error: false, preview: expect.stringContaining('42') },
        ],
      });

      expect(upstream.requests).toHaveLength(2);
      const offered = sent(0).tools.map((tool: any) => tool.function.name);
      expect(offered).toEqual(['everything__add', 'calculator']);
      const second = sent(1).messages;
      const asked = second.at(-3);
      expect(asked).toMatchObject({
        role: 'assistant',
        tool_calls: [{ function: { name: 'everything__add' } }, { function: { name: 'calculator' } }],
      });
      expect(second.at(-2)).toMatchObject({ role: 'tool', tool_call_id: asked.tool_calls[0].id, content: expect.stringContaining('5') });
      expect(second.at(-1)).toMatchObject({ role: 'tool', tool_call_id: asked.tool_calls[1].id, content: '{"expression":"6 * 7","result":42}' });

      const records = await usageRecords(t);
      expect(records.map((r) => [r.promptTokens, r.completionTokens, r.conversationId])).toEqual([
        [100, 20, res.body.conversation_id],
        [180, 12, res.body.conversation_id],
      ]);
      expect(new Set(records.map((r) => r.requestId)).size).toBe(1);
      const calls = await t.prisma.toolCall.findMany({ where: { conversationId: res.body.conversation_id }, orderBy: { tool: 'asc' } });
      expect(calls.map((c) => [c.tool, c.ok])).toEqual([
        ['calculator', true],
        ['everything.add', true],
      ]);

      const stored = await admin.get(`/conversations/${res.body.conversation_id}/messages?order=asc`);
      expect(stored.body.data.map((m: any) => m.role)).toEqual(['user', 'assistant', 'tool', 'tool', 'assistant']);
      expect(stored.body.data[1].tool_calls.map((c: any) => c.function.name)).toEqual(['everything__add', 'calculator']);

      // The next turn replays the whole history, tool messages included, as the model saw it.
      upstream.script({ kind: 'reply', text: 'You are welcome.' });
      await admin.post('/chat', { conversation_id: res.body.conversation_id, messages: [{ role: 'user', content: 'Thanks' }] });
      const replayed = sent(2).messages.map((m: any) => m.role);
      expect(replayed.slice(-6)).toEqual(['user', 'assistant', 'tool', 'tool', 'assistant', 'user']);
      expect(sent(2).messages.at(-4)).toMatchObject({ role: 'tool', tool_call_id: asked.tool_calls[0].id });
    });

    it('streams every round as OpenAI chunks, with one colloquy.tool_result chunk per tool between them', async () => {
      askBoth();
      const res = await fetch(`${t.url}/chat`, {
        method: 'POST',
        headers: { authorization: `Bearer ${t.adminKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ ...body, stream: true }),
      });
      expect(res.headers.get('content-type')).toContain('text/event-stream');
      // The official SDK's SSE reader, and its accumulator (as `client.chat.completions.stream()` uses it).
      const [read, accumulate] = Stream.fromSSEResponse<Chunk>(res, new AbortController()).tee();
      const final = ChatCompletionStream.fromReadableStream(accumulate.toReadableStream()).finalChatCompletion();
      const chunks: Chunk[] = [];
      for await (const chunk of read) chunks.push(chunk);
      for (const chunk of chunks) assertOpenAI('CreateChatCompletionStreamResponse', chunk);
      expect(new Set(chunks.map((c) => c.id)).size).toBe(1);

      const results = chunks.filter((c) => c.colloquy?.tool_result).map((c) => c.colloquy.tool_result);
      expect(results).toEqual([
        expect.objectContaining({ name: 'everything.add', is_error: false, duration_ms: expect.any(Number), preview: expect.stringContaining('5') }),
        expect.objectContaining({ name: 'calculator', is_error: false, preview: expect.stringContaining('42') }),
      ]);
      const firstResult = chunks.findIndex((c) => c.colloquy?.tool_result);
      expect(chunks.slice(0, firstResult).some((c) => c.choices[0]?.finish_reason === 'tool_calls')).toBe(true);
      const text = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
      expect(text).toBe('The sum is 5 and the product 42.');
      const last = chunks.at(-1)!;
      expect(last.usage).toMatchObject({ prompt_tokens: 280, completion_tokens: 32 });
      expect(last).toMatchObject({ conversation_id: expect.any(String), cost: expect.any(Number), colloquy: { tool_rounds: 1 } });

      // The SDK's accumulator reads the turn as one answer: both tool calls (numbered on across rounds), then the text.
      const accumulated = await final;
      expect(accumulated.choices[0].message.content).toBe('The sum is 5 and the product 42.');
      expect(accumulated.choices[0].message.tool_calls?.map((c: any) => c.function.name)).toEqual(['everything__add', 'calculator']);
      expect(accumulated.choices[0].message.tool_calls?.map((c: any) => c.function.arguments)).toEqual(['{"a":2,"b":3}', '{"expression":"6 * 7"}']);

      const records = await usageRecords(t);
      expect(records).toHaveLength(2);
      const stored = await admin.get(`/conversations/${last.conversation_id}/messages?order=asc`);
      expect(stored.body.data.map((m: any) => m.role)).toEqual(['user', 'assistant', 'tool', 'tool', 'assistant']);
    });

    it('stops at max_tool_rounds with finish_reason "length" and a note', async () => {
      upstream.script(
        { kind: 'tool_call', name: 'calculator', arguments: '{"expression":"1+1"}' },
        { kind: 'tool_call', name: 'calculator', arguments: '{"expression":"2+2"}' },
      );
      const res = await admin.post('/chat', { ...body, max_tool_rounds: 1 });
      expect(res.status).toBe(200);
      expect(res.body.choices[0].finish_reason).toBe('length');
      expect(res.body.choices[0].message.tool_calls).toBeUndefined();
      expect(res.body.colloquy).toMatchObject({ tool_rounds: 1, note: expect.stringContaining('max_tool_rounds') });
      expect(upstream.requests).toHaveLength(2);
      expect(await usageRecords(t)).toHaveLength(2);
      const calls = await t.prisma.toolCall.findMany({ where: { conversationId: res.body.conversation_id } });
      expect(calls).toHaveLength(1);
      expectError(await admin.post('/chat', { ...body, max_tool_rounds: 21 }), 400);
    });

    it("hands a call of the client's own tool back to the client, after running the server tools beside it", async () => {
      const tools = [
        { type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } },
      ];
      upstream.script({
        kind: 'tool_call',
        calls: [
          { name: 'calculator', arguments: '{"expression":"3*3"}' },
          { name: 'get_weather', arguments: '{"city":"Oslo"}' },
        ],
      });
      const res = await admin.post('/chat', { ...body, tools });
      expect(res.status).toBe(200);
      expect(res.body.choices[0]).toMatchObject({
        finish_reason: 'tool_calls',
        message: { tool_calls: [{ type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }] },
      });
      expect(res.body.choices[0].message.tool_calls).toHaveLength(1);
      expect(upstream.requests).toHaveLength(1);
      expect(sent(0).tools.map((tool: any) => tool.function.name)).toEqual(['get_weather', 'everything__add', 'calculator']);

      // The client answers its own call; the next round sees both results.
      const weatherCall = res.body.choices[0].message.tool_calls[0];
      upstream.script({ kind: 'reply', text: 'Nine, and sunny in Oslo.' });
      const next = await admin.post('/chat', {
        conversation_id: res.body.conversation_id,
        tools,
        messages: [{ role: 'tool', tool_call_id: weatherCall.id, content: '{"sky":"sunny"}' }],
      });
      expect(next.status).toBe(200);
      const roles = sent(1).messages.map((m: any) => m.role);
      expect(roles.slice(-4)).toEqual(['user', 'assistant', 'tool', 'tool']);
    });

    it('checks budgets before every round: a round the budget cannot hold is refused, what ran is kept', async () => {
      // Round one is admitted (its worst case ≈ $0.041) and costs $0.04005; the second would pass $0.06.
      const user = await createUser(t.url, t.adminKey, { user: { budget: { amount_usd: 0.06, period: 'total' } } });
      upstream.script({
        kind: 'tool_call',
        name: 'calculator',
        arguments: '{"expression":"5*5"}',
        usage: { prompt_tokens: 20, completion_tokens: 4000 },
      });
      const res = await user.api.post('/chat', { ...body, server_tools: ['calculator'], max_tokens: 4000 });
      expectError(res, 429, 'insufficient_quota');
      expect(upstream.requests).toHaveLength(1);
      const records = await usageRecords(t);
      expect(records.map((r) => [r.userId, r.completionTokens])).toEqual([[user.id, 4000]]);
      const calls = await t.prisma.toolCall.findMany({ where: { userId: user.id } });
      expect(calls).toEqual([expect.objectContaining({ tool: 'calculator', ok: true })]);
      const conversations = await user.api.get('/conversations');
      const messages = await user.api.get(`/conversations/${conversations.body.data[0].id}/messages?order=asc`);
      expect(messages.body.data.map((m: any) => m.role)).toEqual(['user', 'assistant', 'tool']);
    });

    it('gives the model an error result for a tool that fails, and cuts long output to max_result_tokens', async () => {
      upstream.script(
        {
          kind: 'tool_call',
          calls: [
            { name: 'broken', arguments: '{}' },
            { name: 'verbose', arguments: '{}' },
            { name: 'calculator', arguments: 'not json' },
          ],
        },
        { kind: 'reply', text: 'Some tools failed.' },
      );
      const res = await admin.post('/chat', { ...body, server_tools: ['broken', 'verbose', 'calculator'] });
      expect(res.status).toBe(200);
      const [broken, verbose, calculator] = sent(1).messages.slice(-3);
      expect(broken.content).toContain('tool_failed');
      expect(verbose.content).toMatch(/\[truncated by Colloquy: the tool returned \d+ tokens; the first \d+ are shown\]$/);
      expect(verbose.content.length).toBeLessThan(1000);
      expect(calculator.content).toContain('invalid_tool_arguments');
      expect(res.body.colloquy.tool_calls.map((c: any) => c.is_error)).toEqual([true, false, true]);
    });
  });

  describe('the loop on every transport', () => {
    const ask = () =>
      upstream.script(
        { kind: 'tool_call', name: 'calculator', arguments: '{"expression":"2^10"}' },
        { kind: 'reply', text: 'It is 1024.', usage: { prompt_tokens: 50, completion_tokens: 5 } },
      );
    const turn = { model: 'standin-gpt', server_tools: ['calculator'], messages: [{ role: 'user', content: 'What is 2^10?' }] };

    it('stops the loop and the running tool (its signal) when the client leaves', async () => {
      const seen = () => (globalThis as { colloquySlowTool?: { started: boolean; aborted: boolean } }).colloquySlowTool;
      upstream.script({ kind: 'tool_call', name: 'slow', arguments: '{}' }, { kind: 'reply', text: 'never asked' });
      const controller = new AbortController();
      const res = await fetch(`${t.url}/chat`, {
        method: 'POST',
        headers: { authorization: `Bearer ${t.adminKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ ...turn, server_tools: ['slow'], stream: true }),
        signal: controller.signal,
      });
      const reader = res.body!.getReader();
      let text = '';
      while (!text.includes('"finish_reason":"tool_calls"')) text += new TextDecoder().decode((await reader.read()).value);
      await waitFor(() => seen()?.started === true);
      controller.abort();
      await waitFor(async () => (await t.prisma.toolCall.count({ where: { tool: 'slow', errorCode: 'client_closed' } })) === 1);
      expect(seen()?.aborted).toBe(true);
      expect(upstream.requests).toHaveLength(1);
      await waitFor(async () => (await usageRecords(t)).length === 1);
    });

    it('runs in background jobs', async () => {
      ask();
      const submitted = await admin.post('/jobs', turn);
      expect(submitted.status).toBe(202);
      let job: any;
      await waitFor(async () => {
        job = (await admin.get(`/jobs/${submitted.body.id}`)).body;
        return ['succeeded', 'failed'].includes(job.status);
      });
      expect(job.result).toMatchObject({ choices: [{ message: { content: 'It is 1024.' } }], colloquy: { tool_rounds: 1 } });
      expect(sent(1).messages.at(-1)).toMatchObject({ role: 'tool', content: '{"expression":"2^10","result":1024}' });
      expect((await usageRecords(t)).map((r) => r.endpoint)).toEqual(['/jobs', '/jobs']);
    });

    it('runs over the WebSocket, tool results between the rounds', async () => {
      ask();
      const ws = await connectChatSocket(t.url, { key: t.adminKey });
      ws.send({ type: 'chat', id: 'w1', ...turn });
      const frames = await ws.nextTurn();
      ws.socket.close();
      const chunks = frames.filter((f) => f.type === 'chunk').map((f) => f.data);
      expect(chunks.filter((c) => c.colloquy?.tool_result).map((c) => c.colloquy.tool_result.name)).toEqual(['calculator']);
      expect(chunks.map((c) => c.choices?.[0]?.delta?.content ?? '').join('')).toBe('It is 1024.');
      expect(chunks.at(-1)).toMatchObject({ usage: { prompt_tokens: 70, completion_tokens: 15 }, colloquy: { tool_rounds: 1 } });
      expect(frames.at(-1)).toMatchObject({ type: 'done' });
    });
  });

  describe('an MCP server that goes away', () => {
    it('turns its tools unavailable while the rest keeps working, and brings them back', async () => {
      const mcp = t.app.get(McpServers);
      const pid = mcp.processId('everything');
      expect(pid).toEqual(expect.any(Number));
      process.kill(pid!, 'SIGKILL');

      const addState = async () => (await admin.get('/tools')).body.data.find((tool: any) => tool.name === 'everything.add')?.available;
      await waitFor(async () => (await addState()) === false);
      expectError(await admin.post('/call_tool', { name: 'everything.add', args: [1, 2] }), 503, 'tool_unavailable');
      expectError(
        await admin.post('/chat', { model: 'standin-gpt', server_tools: ['everything.add'], messages: [{ role: 'user', content: 'x' }] }),
        503,
        'tool_unavailable',
      );
      const health = await admin.get('/health');
      expect(health.body).toMatchObject({ status: 'degraded' });
      expect(health.body.dependencies.mcp_servers.everything).toMatchObject({ transport: 'stdio', status: expect.stringMatching(/down|connecting/) });
      expect((await admin.get('/health/ready')).status).toBe(200);
      expect((await admin.post('/call_tool', { name: 'calculator', args: ['1+1'] })).body.result.result).toBe(2);
      expect((await admin.post('/call_tool', { name: 'capitals.lookup', args: ['Japan'] })).body.result).toBe('Tokyo');

      await waitFor(async () => (await addState()) === true, 20_000);
      expect(mcp.processId('everything')).not.toBe(pid);
      expect((await admin.post('/call_tool', { name: 'everything.add', args: [20, 22] })).body.result).toContain('42');
      expect((await admin.get('/health')).body.dependencies.mcp_servers.everything).toMatchObject({ status: 'connected', tools: expect.any(Number) });
    });
  });
});
