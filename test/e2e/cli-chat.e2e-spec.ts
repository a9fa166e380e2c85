import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CLI_ENTRY, cliEnv } from '../support/cli.js';
import { DOCUMENT_FIXTURES } from '../support/documents.js';
import { client } from '../support/http.js';
import { spawnPty, type PtySession } from '../support/pty.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { startStandInUpstream, type StandInUpstream } from '../support/stand-in-upstream.js';
import { writeTestConfig } from '../support/test-config.js';
import { waitFor } from '../support/test-app.js';

const ADMIN_KEY = 'cli-chat-admin-key-0123456789';
const PROMPT = 'you › ';
const ENTER = '\r';
const CTRL_C = '\x03';
const CTRL_D = '\x04';
const UP = '\x1b[A';

/** `colloquy chat` on a pseudo-terminal, typed at like a person would, against a real server process. */
describe('colloquy chat on a terminal', () => {
  let upstream: StandInUpstream;
  let server: ServerProcess;
  let admin: ReturnType<typeof client>;
  const sessions: PtySession[] = [];

  beforeAll(async () => {
    upstream = await startStandInUpstream();
    server = await startServerProcess({
      CONFIG_FILE: writeTestConfig({ primary: upstream.baseUrl }),
      COLLOQUY_ADMIN_KEY: ADMIN_KEY,
      UPSTREAM_MAX_RETRIES: '0',
    });
    admin = client(server.url, ADMIN_KEY);
  });
  afterAll(async () => {
    for (const session of sessions) session.kill();
    await server?.stop();
    await upstream?.close();
  });
  beforeEach(() => {
    upstream.reset();
    upstream.setDefault({ kind: 'reply' });
  });

  async function startChat(args: string[] = []) {
    const user = await admin.post('/users', { name: `chat-${Math.random().toString(36).slice(2, 8)}` });
    const key = (await admin.post(`/users/${user.body.id}/keys`, {})).body.key as string;
    const env = cliEnv({ COLLOQUY_URL: server.url, COLLOQUY_API_KEY: key, TERM: 'xterm' });
    const pty = spawnPty([process.execPath, CLI_ENTRY, 'chat', ...args], env);
    sessions.push(pty);
    let at = await pty.waitFor(PROMPT);
    /** Types a line and waits for what it should bring, then for the next prompt. */
    const say = async (line: string, expected?: string | RegExp) => {
      pty.type(line + ENTER);
      if (expected) at = await pty.waitFor(expected, { from: at });
      at = await pty.waitFor(PROMPT, { from: at });
      return at;
    };
    return { pty, env, api: client(server.url, key), say, at: () => at, setAt: (i: number) => (at = i) };
  }

  it('streams answers, attaches a file, recalls a typed line, stops an answer with Ctrl-C and leaves with /exit', async () => {
    const { pty, env, api, say, at, setAt } = await startChat();
    expect(pty.screen()).toMatch(/Colloquy chat · http:\/\/127\.0\.0\.1:\d+ · chat-/);

    upstream.setDefault({ kind: 'reply', text: 'Hello from the stand-in.' });
    await say('Hi there', 'Hello from the stand-in.');
    expect(upstream.requests.at(-1)!.body).toMatchObject({ stream: true, messages: [{ role: 'user', content: 'Hi there' }] });

    // colloquy/echo names what reached the model: the attachment went with the next message only.
    await say('/model colloquy/echo', 'Model: colloquy/echo');
    await say(
      `/file ${join(DOCUMENT_FIXTURES, 'report.pdf')}`,
      /📎 report\.pdf \(application\/pdf, 23 KB, 2 pages, \d+ tokens\): it goes with your next message/,
    );
    await say('What does it say?', 'What does it say?\n📎 report.pdf (application/pdf)\n');

    // ↑ brings the last typed line back; sent again, it goes without the file.
    pty.type(UP);
    setAt(await pty.waitFor(`${PROMPT}What does it say?`, { from: at() }));
    pty.type(ENTER);
    const answer = await pty.waitFor(PROMPT, { from: at() });
    expect(pty.screen().slice(at(), answer)).toBe(`\nWhat does it say?\n\n${PROMPT}`);
    setAt(answer);

    // A slow answer, stopped midway: the prompt comes back and the server keeps what was said.
    await say('/model standin-gpt', 'Model: standin-gpt');
    const words = Array.from({ length: 60 }, (_, i) => `word${i + 1}`);
    upstream.setDefault({ kind: 'reply', text: words.join(' '), chunkDelayMs: 50 });
    pty.type('Tell me a long story' + ENTER);
    setAt(await pty.waitFor('word3 ', { from: at() }));
    pty.type(CTRL_C);
    setAt(await pty.waitFor('[stopped]', { from: at() }));
    setAt(await pty.waitFor(PROMPT, { from: at() }));
    expect(pty.screen()).not.toContain('word60');

    const conversations = (await api.get('/conversations')).body.data;
    expect(conversations).toHaveLength(1);
    let messages: Array<{ role: string; status: string; content: string }> = [];
    await waitFor(async () => {
      messages = (await api.get(`/conversations/${conversations[0].id}/messages`)).body.data;
      return messages.length === 8;
    });
    expect(messages.at(-2)).toMatchObject({ role: 'user', content: 'Tell me a long story' });
    expect(messages.at(-1)).toMatchObject({ role: 'assistant', status: 'incomplete' });
    expect(messages.at(-1)!.content).toMatch(/^word1 word2 word3/);

    // The session goes on in the same conversation.
    upstream.setDefault({ kind: 'reply', text: 'Still here.' });
    await say('Are you still there?', 'Still here.');
    expect(JSON.stringify(upstream.requests.at(-1)!.body)).toContain('Tell me a long story');

    await say('/cost', /This session: \S+ for 4 answers \(.+\)\nThis conversation: \S+ · 10 messages · [\d,]+ tokens/);

    pty.type('/exit' + ENTER);
    expect(await pty.exited).toBe(0);
    // Typed lines are kept for the next session, beside the config file.
    const history = readFileSync(join(dirname(env.COLLOQUY_CONFIG), 'history'), 'utf8');
    expect(history).toContain('Hi there\n');
    expect(history).toContain('Are you still there?\n');
  });

  it('shows the history, lists conversations, and starts a new one', async () => {
    const { pty, api, say } = await startChat(['--model', 'colloquy/echo']);
    await say('First conversation', 'First conversation');
    await say('/history', /── you · .*\nFirst conversation\n\n── colloquy\/echo · .*\nFirst conversation\n/);
    await say('/new', 'New conversation');
    await say('Second conversation', 'Second conversation');
    const listed = (await api.get('/conversations')).body.data as Array<{ id: string; title: string }>;
    expect(listed.map((c) => c.title)).toEqual(['Second conversation', 'First conversation']);
    await say('/conversations', new RegExp(`\\* ${listed[0].id}.*Second conversation\\n\\s*${listed[1].id}.*First conversation`));
    await say(`/open ${listed[1].id}`, 'Continuing "First conversation" (2 messages)');
    await say('/persona luminary/socrates', 'Persona: luminary/socrates');
    await say('/nonsense', 'Unknown command /nonsense: /help lists them.');
    await say('/help', /\/file PATH\s+attach a file/);
    pty.type(CTRL_D);
    expect(await pty.exited).toBe(0);
  });

  it('continues a conversation given with --conversation', async () => {
    const first = await startChat(['--model', 'colloquy/echo']);
    await first.say('Remember this', 'Remember this');
    const id = (await first.api.get('/conversations')).body.data[0].id as string;
    first.pty.type('/exit' + ENTER);
    expect(await first.pty.exited).toBe(0);

    // Same user (same key) in a new process.
    const pty = spawnPty([process.execPath, CLI_ENTRY, 'chat', '--conversation', id], first.env);
    sessions.push(pty);
    await pty.waitFor('Continuing "Remember this" (2 messages)');
    const at = await pty.waitFor(PROMPT);
    pty.type('/history' + ENTER);
    await pty.waitFor(/Remember this\n\n── colloquy\/echo/, { from: at });
    pty.type(CTRL_D);
    expect(await pty.exited).toBe(0);
  });

  it('Ctrl-C at an empty prompt warns, a second one leaves; Ctrl-D leaves too', async () => {
    const first = await startChat();
    first.pty.type('half a thought');
    await first.pty.waitFor(`${PROMPT}half a thought`);
    // With text typed, Ctrl-C only clears the line.
    first.pty.type(CTRL_C);
    const at = await first.pty.waitFor(PROMPT, { from: first.at() + 1 });
    first.pty.type(CTRL_C);
    await first.pty.waitFor('(To leave, press Ctrl-C again or Ctrl-D, or type /exit)', { from: at });
    first.pty.type(CTRL_C);
    expect(await first.pty.exited).toBe(0);
    expect(upstream.requests).toHaveLength(0);

    const second = await startChat();
    second.pty.type(CTRL_D);
    expect(await second.pty.exited).toBe(0);
  });
});
