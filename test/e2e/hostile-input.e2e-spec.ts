import { randomUUID } from 'node:crypto';
import { useStandInApp } from '../support/stand-in-app.js';
import { leaves, replaced, SampleBuilder, type OpenApiDocument, type Operation } from '../support/openapi-samples.js';

/**
 * Property-style: every route of the OpenAPI document, every field of its JSON body and query,
 * with what an attacker sends (NUL characters, lone surrogates, nesting 10,000 and 100,000 deep,
 * huge and negative numbers, dates out of range). Whatever the route, the answer is a 4xx with
 * OpenAI's error envelope, and the refusals that must be 400 are 400: never a 500.
 */
const DEEP = '"__deep__"';
const BAD_DATE = '-271821-04-20T00:00:00Z';
const HUGE_NUMBERS = [3e9, -1e20, 1e308, 2 ** 63];

interface Probe {
  method: string;
  path: string;
  body?: string;
  /** Exactly this status, or any status below 500 when null. */
  expect: number | null;
  what: string;
}

describe('hostile input on every route', () => {
  const s = useStandInApp({ RATE_LIMIT_RPM: '1000000' });
  let doc: OpenApiDocument;
  let builder: SampleBuilder;

  beforeAll(async () => {
    doc = (await s.admin.get('/docs-json')).body as OpenApiDocument;
    builder = new SampleBuilder(doc);
  });

  function operations(): Array<{ method: string; path: string; op: Operation }> {
    const out: Array<{ method: string; path: string; op: Operation }> = [];
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        if (!['get', 'post', 'patch', 'put', 'delete'].includes(method)) continue;
        out.push({ method: method.toUpperCase(), path: path.replace(/\{[^}]+\}/g, () => randomUUID()), op });
      }
    }
    return out;
  }

  function bodyProbes(method: string, path: string, op: Operation): Probe[] {
    const schema = op.requestBody?.content?.['application/json']?.schema;
    if (!schema) return [];
    const sample = builder.sample(schema);
    const probes: Probe[] = [];
    const send = (value: unknown, deep?: number) => {
      let text = JSON.stringify(value);
      if (deep) text = text.replace(DEEP, '{"a":'.repeat(deep) + '1' + '}'.repeat(deep));
      return text;
    };
    for (const leaf of leaves(sample)) {
      const at = `${method} ${path} ${leaf.path.join('.')}`;
      probes.push({
        method,
        path,
        body: send(replaced(sample, leaf.path, DEEP.slice(1, -1)), 10_000),
        expect: 400,
        what: `${at} nested 10,000 deep`,
      });
      if (typeof leaf.value === 'string') {
        probes.push({ method, path, body: send(replaced(sample, leaf.path, `a\u0000b`)), expect: 400, what: `${at} with NUL` });
        probes.push({ method, path, body: send(replaced(sample, leaf.path, 'a\ud800b')), expect: 400, what: `${at} with a lone surrogate` });
        probes.push({ method, path, body: send(replaced(sample, leaf.path, BAD_DATE)), expect: null, what: `${at} as a bad date` });
      } else if (typeof leaf.value === 'number') {
        for (const n of HUGE_NUMBERS) probes.push({ method, path, body: send(replaced(sample, leaf.path, n)), expect: null, what: `${at} = ${n}` });
      } else if (leaf.value && typeof leaf.value === 'object' && !Array.isArray(leaf.value)) {
        probes.push({
          method,
          path,
          body: send(replaced(sample, leaf.path, { ...leaf.value, 'k\u0000': 'v' })),
          expect: 400,
          what: `${at} with a NUL key`,
        });
      }
    }
    probes.push({ method, path, body: send(DEEP.slice(1, -1), 100_000), expect: 400, what: `${method} ${path} body nested 100,000 deep` });
    return probes;
  }

  function queryProbes(method: string, path: string, op: Operation): Probe[] {
    const probes: Probe[] = [];
    for (const p of op.parameters ?? []) {
      if (p.in !== 'query') continue;
      const at = `${method} ${path}?${p.name}`;
      const q = (v: string) => `${path}?${encodeURIComponent(p.name)}=${encodeURIComponent(v)}`;
      probes.push({ method, path: q('a\u0000b'), expect: 400, what: `${at} with NUL` });
      probes.push({ method, path: q(BAD_DATE), expect: ['from', 'to'].includes(p.name) ? 400 : null, what: `${at} as a bad date` });
      for (const n of HUGE_NUMBERS) probes.push({ method, path: q(String(n)), expect: null, what: `${at}=${n}` });
    }
    return probes;
  }

  it('never answers 500, and refuses NUL, lone surrogates, deep nesting and bad dates with 400', async () => {
    const probes = operations().flatMap(({ method, path, op }) => [...bodyProbes(method, path, op), ...queryProbes(method, path, op)]);
    expect(probes.length).toBeGreaterThan(500);
    const failures: string[] = [];
    for (const probe of probes) {
      const res = await s.admin.call(probe.method, probe.path, {
        body: probe.body,
        headers: probe.body ? { 'content-type': 'application/json' } : {},
      });
      const ok = probe.expect === null ? res.status < 500 : res.status === probe.expect;
      const envelope = res.status < 400 || (res.body && typeof res.body === 'object' && 'error' in res.body);
      if (!ok || !envelope) failures.push(`${probe.what}: ${res.status} ${res.text.slice(0, 160)}`);
    }
    expect(failures).toEqual([]);
  });

  it('names the field at fault', async () => {
    const res = await s.admin.post('/conversations', { title: 'ok', metadata: { note: 'a\u0000b' } });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ param: 'metadata.note', code: 'invalid_request' });
    const deep = await s.admin.call('POST', '/v1/chat/completions', {
      body: `{"model":"standin-gpt","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}}]}`,
      headers: { 'content-type': 'application/json' },
    });
    expect(deep.status).toBe(400);
    expect(deep.body.error.param).toMatch(/^tools\.0\.function\.parameters(\.a)+$/);
    expect(s.upstream.requests).toHaveLength(0);
    const user = await s.admin.post('/users', { name: 'limited' });
    const huge = await s.admin.patch(`/users/${user.body.id}`, { limits: { rpm: 3e9 } });
    expect(huge.status).toBe(400);
    expect(huge.body.error.param).toBe('limits.rpm');
    const dated = await s.admin.get('/usage?from=-271821-04-20T00:00:00Z');
    expect(dated.status).toBe(400);
    expect(dated.body.error.param).toBe('from');
  });
});
