import OpenAI from 'openai';
import { client } from './http.js';
import { startStandInUpstream, type StandInUpstream } from './stand-in-upstream.js';
import { writeTestConfig } from './test-config.js';
import { clearUsageRecords, startTestApp, type TestApp } from './test-app.js';

export interface StandInApp {
  upstream: StandInUpstream;
  t: TestApp;
  /** The official SDK, as the admin. */
  sdk: OpenAI;
  /** A JSON client, as the admin. */
  admin: ReturnType<typeof client>;
}

/**
 * For a describe block: a server wired to a fresh stand-in upstream (retries off) for the whole
 * block, with the upstream's script and the usage records reset before each test. The object
 * is filled in by the block's first beforeAll.
 */
export function useStandInApp(env: Record<string, string> = {}, config: Record<string, unknown> = {}): StandInApp {
  const stack = {} as StandInApp;
  beforeAll(async () => {
    stack.upstream = await startStandInUpstream();
    stack.t = await startTestApp({
      env: { CONFIG_FILE: writeTestConfig({ primary: stack.upstream.baseUrl }, config), UPSTREAM_MAX_RETRIES: '0', ...env },
    });
    stack.sdk = new OpenAI({ apiKey: stack.t.adminKey, baseURL: `${stack.t.url}/v1`, maxRetries: 0 });
    stack.admin = client(stack.t.url, stack.t.adminKey);
  });
  afterAll(async () => {
    await stack.t?.close();
    await stack.upstream?.close();
  });
  beforeEach(async () => {
    stack.upstream.reset();
    await clearUsageRecords(stack.t);
  });
  return stack;
}
