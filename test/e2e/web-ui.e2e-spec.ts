import type { Browser, Page } from 'playwright-core';
import { launchBrowser, screenshots } from '../support/browser.js';
import { documentFixture } from '../support/documents.js';
import { client } from '../support/http.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { startStandInUpstream, type StandInUpstream } from '../support/stand-in-upstream.js';
import { writeTestConfig } from '../support/test-config.js';
import { waitFor } from '../support/test-app.js';

const ADMIN_KEY = 'cq_web-ui-admin-key-0123456789abcdefghijklmnop';

/** The web UI at /ui in Debian's Chromium, against the built server in its own process. */
describe('the web UI', () => {
  let upstream: StandInUpstream;
  let server: ServerProcess;
  let browser: Browser;
  let page: Page;
  let admin: ReturnType<typeof client>;

  beforeAll(async () => {
    upstream = await startStandInUpstream();
    server = await startServerProcess({
      CONFIG_FILE: writeTestConfig({ primary: upstream.baseUrl }),
      COLLOQUY_ADMIN_KEY: ADMIN_KEY,
      UPSTREAM_MAX_RETRIES: '0',
    });
    admin = client(server.url, ADMIN_KEY);
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await upstream?.close();
  });
  beforeEach(async () => {
    upstream.reset();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    // A step that cannot happen fails naming its locator, well before the test's own timeout.
    page.setDefaultTimeout(10_000);
  });
  afterEach(() => page.close());

  async function signInWithKey(key: string) {
    await page.goto(server.url);
    await page.getByRole('tab', { name: 'API key' }).click();
    await page.getByLabel('API key').fill(key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
  }

  async function signInWithPassword(name: string, password: string) {
    await page.goto(server.url);
    await page.getByLabel('Name or email').fill(name);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
  }

  /** A user with a password and a key of their own, made through the API. */
  async function newUser(name: string) {
    const password = `${name}-password-0123`;
    const user = (await admin.post('/users', { name, password })).body;
    const key = (await admin.post(`/users/${user.id}/keys`, {})).body.key as string;
    return { user, password, api: client(server.url, key) };
  }

  async function send(text: string) {
    await page.getByLabel('Message').fill(text);
    await page.getByRole('button', { name: 'Send' }).click();
  }

  it('sends / to the UI, signs in with a key, and streams an answer into a new conversation', async () => {
    // The UI's own CSP: nothing inline, never framed, no upgrade over plain HTTP.
    const csp = (await fetch(`${server.url}/ui/`)).headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('upgrade-insecure-requests');
    await page.goto(server.url);
    expect(page.url()).toBe(`${server.url}/ui/`);
    await screenshots(page, 'sign-in');
    await signInWithKey(ADMIN_KEY);
    upstream.setDefault({ kind: 'reply', text: 'One **two** three four five six', chunkDelayMs: 40 });
    await page.getByLabel('Persona').selectOption('luminary/socrates');
    await send('Count for me');
    // The answer is shown while it arrives, then kept.
    await page.locator('.message.streaming').waitFor();
    await page.locator('.message.assistant[data-status="complete"] strong', { hasText: 'two' }).waitFor();
    await page.getByTestId('turn-info').waitFor();
    expect((upstream.requests[0].body!.messages as Array<{ content: string }>)[0].content).toMatch(/Socrates/);
    expect(page.url()).toMatch(/#\/chat\/[0-9a-f-]{36}$/);
    await page.getByRole('link', { name: 'Count for me' }).waitFor();
    await screenshots(page, 'chat');
  });

  it('stops an answer mid-stream: the stored message is incomplete', async () => {
    await signInWithKey(ADMIN_KEY);
    upstream.setDefault({ kind: 'reply', text: Array.from({ length: 200 }, (_, i) => `word${i}`).join(' '), chunkDelayMs: 50 });
    await send('Talk for a long time');
    await page.locator('.message.streaming .content', { hasText: 'word2' }).waitFor();
    await page.getByRole('button', { name: 'Stop' }).click();
    await page.locator('.message.assistant[data-status="incomplete"]').waitFor();
    const id = /#\/chat\/([0-9a-f-]{36})$/.exec(page.url())![1];
    let messages: Array<{ role: string; status: string }> = [];
    await waitFor(async () => (messages = (await admin.get(`/conversations/${id}/messages`)).body.data).length === 2);
    expect(messages.find((m) => m.role === 'assistant')!.status).toBe('incomplete');
  });

  it('renders model output as inert text: no script runs, no handler fires', async () => {
    await signInWithKey(ADMIN_KEY);
    upstream.setDefault({
      kind: 'reply',
      text: 'Look <script>window.pwned = 1</script> and <img src=x onerror="window.pwned = 2"> [x](javascript:window.pwned=3)',
    });
    await send('Be hostile');
    await page.locator('.message.assistant[data-status="complete"]', { hasText: '<script>' }).waitFor();
    expect(await page.locator('.message.assistant img, .message.assistant script').count()).toBe(0);
    expect(await page.locator('.message.assistant a').count()).toBe(0);
    await page.locator('.message.assistant').first().click();
    expect(await page.evaluate('window.pwned')).toBeUndefined();
  });

  it('signs in with a password, attaches a PDF (its page count shown), renames and deletes a conversation', async () => {
    const { password } = await newUser('ui-reader');
    await signInWithPassword('ui-reader', password);
    await page.locator('input[type=file]').setInputFiles({ name: 'report.pdf', mimeType: 'application/pdf', buffer: documentFixture('report.pdf') });
    await page
      .getByRole('list', { name: 'Attachments' })
      .getByText(/report\.pdf · \d+ pages/)
      .waitFor();
    await send('Summarise the attachment');
    await page.locator('.message.user', { hasText: 'Attached: report.pdf' }).waitFor();
    await page.locator('.message.assistant[data-status="complete"]').waitFor();
    page.once('dialog', (dialog) => void dialog.accept('Reading notes'));
    await page.getByRole('button', { name: 'Rename' }).click();
    await page.getByRole('link', { name: 'Reading notes' }).waitFor();
    page.once('dialog', (dialog) => void dialog.accept('work, notes, work'));
    await page.getByRole('button', { name: 'Tags' }).click();
    await page.getByLabel('Tags', { exact: true }).getByText('notes').waitFor();
    // The stored message names its file (the conversation's files), after the rename too.
    await page.reload();
    await page.locator('.message.user', { hasText: 'Attached: report.pdf' }).waitFor();
    await screenshots(page, 'conversation');
    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('heading', { name: 'New conversation' }).waitFor();
    expect(await page.getByRole('link', { name: 'Reading notes' }).count()).toBe(0);
  });

  it('submits and cancels a job, and shows usage as a chart', async () => {
    await signInWithKey(ADMIN_KEY);
    upstream.setDefault({ kind: 'hang' });
    await page.getByRole('link', { name: 'Jobs' }).click();
    await page.getByLabel('Prompt').fill('A long story');
    await page.getByRole('button', { name: 'Submit job' }).click();
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.locator('td.status.cancelled').waitFor();
    await screenshots(page, 'jobs');
    upstream.setDefault({ kind: 'reply' });
    await page.getByRole('link', { name: 'Usage' }).click();
    await page.getByTestId('usage-totals').waitFor();
    expect(await page.locator('svg.chart rect.bar').count()).toBeGreaterThan(0);
    await screenshots(page, 'usage');
    await page.getByRole('link', { name: 'Memories' }).click();
    await page.getByLabel('Remember').fill('I like short answers.');
    await page.getByRole('button', { name: 'Add' }).click();
    await page.getByText('I like short answers.').waitFor();
    await screenshots(page, 'memories');
  });

  it('lets an admin create a user and a key (shown once); keeps a user off the admin pages and out of others’ conversations', async () => {
    await signInWithKey(ADMIN_KEY);
    await page.getByRole('link', { name: 'Admin' }).click();
    const form = page.getByRole('form', { name: 'Create a user' });
    await form.getByLabel('Name').fill('ui-made');
    await form.getByLabel('Password').fill('ui-made-password-0123');
    await form.getByRole('button', { name: 'Create user' }).click();
    await page.getByRole('heading', { name: 'ui-made' }).waitFor();
    await page.getByRole('button', { name: 'Create key' }).click();
    const key = (await page.getByTestId('new-key').textContent())!;
    expect(key).toMatch(/^cq_/);
    expect((await client(server.url, key).get('/me')).body.name).toBe('ui-made');
    await screenshots(page, 'admin');

    const other = await newUser('ui-other');
    const theirs = await other.api.post('/chat', { messages: [{ role: 'user', content: 'secret plans' }] });
    await page.getByRole('button', { name: 'Sign out' }).click();
    await signInWithPassword('ui-made', 'ui-made-password-0123');
    expect(await page.getByRole('link', { name: 'Admin' }).count()).toBe(0);
    await page.goto(`${server.url}/ui/#/admin`);
    expect(await page.getByRole('heading', { name: 'Administration' }).count()).toBe(0);
    await page.goto(`${server.url}/ui/#/chat/${theirs.body.conversation_id}`);
    await page.getByRole('alert').waitFor();
    expect(await page.getByText('secret plans').count()).toBe(0);
  });

  it('ends the session on sign-out, and refuses a cookie write without the CSRF header', async () => {
    await signInWithKey(ADMIN_KEY);
    const cookies = await page.context().cookies();
    expect(cookies.map((c) => [c.httpOnly, c.sameSite])).toEqual([[true, 'Strict']]);
    const cookie = cookies.map((c) => `${c.name}=${c.value}`).join('; ');
    const withoutCsrf = await page.evaluate(async () => {
      const res = await fetch('/memories', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ content: 'x' }),
      });
      return { status: res.status, code: ((await res.json()) as { error: { code: string } }).error.code };
    });
    expect(withoutCsrf).toEqual({ status: 403, code: 'csrf_token_invalid' });
    expect((await client(server.url).get('/me', { headers: { cookie } })).status).toBe(200);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    expect((await client(server.url).get('/me', { headers: { cookie } })).status).toBe(401);
  });
});
