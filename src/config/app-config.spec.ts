import { redact, redactUrl } from './app-config.js';

describe('redact', () => {
  it('replaces userinfo and every query value of a URL, whatever the names', () => {
    expect(redactUrl('https://user:pw-secret@llm.example.com/v1?api-key=k-secret&region=eu&password=p-secret')).toBe(
      'https://redacted:redacted@llm.example.com/v1?api-key=redacted&region=redacted&password=redacted',
    );
    expect(redactUrl('postgresql://app:pw-secret@db:5432/colloquy?sslmode=require')).toBe(
      'postgresql://redacted:redacted@db:5432/colloquy?sslmode=redacted',
    );
    expect(redactUrl('redis://:redis-secret@cache:6379/0')).toBe('redis://:redacted@cache:6379/0');
    // A token given as the user name alone, a bare query entry, a repeated name, a fragment.
    expect(redactUrl('https://ghp_token-secret@git.example.com/x')).toBe('https://redacted@git.example.com/x');
    expect(redactUrl('http://h/x?sk-bare-secret&a=1&a=2#frag-secret')).toBe('http://h/x?redacted&a=redacted&a=redacted#redacted');
  });

  it('leaves strings that are not URLs, and URLs without secrets, exactly as written', () => {
    for (const s of ['gpt-4o', './data', '/var/lib/colloquy', 'https://api.openai.com/v1', 'http://127.0.0.1:9000', '']) {
      expect(redactUrl(s)).toBe(s);
    }
  });

  it('walks the whole tree: secret-named keys, headers and URLs anywhere', () => {
    const out = redact({
      auth: { admin_key: 'admin-secret' },
      providers: {
        openai: {
          base_url: 'https://u:pw-secret@api.example.com/v1?api-key=q-secret',
          api_key: 'sk-secret',
          api_key_env: 'MY_KEY',
          headers: { 'x-auth': 'h-secret' },
        },
      },
      storage: { s3: { endpoint: 'http://ak:s3-secret@minio:9000/?X-Amz-Signature=sig-secret', region: 'eu-west-1' } },
      models: [{ id: 'm', description: 'https://docs.example.com/m?token=t-secret' }],
      limits: { rate: { rpm: 60 } },
    });
    const text = JSON.stringify(out);
    for (const secret of ['admin-secret', 'pw-secret', 'q-secret', 'sk-secret', 'h-secret', 's3-secret', 'sig-secret', 't-secret']) {
      expect(text).not.toContain(secret);
    }
    expect(out).toMatchObject({
      auth: { admin_key: '[redacted]' },
      providers: {
        openai: {
          base_url: 'https://redacted:redacted@api.example.com/v1?api-key=redacted',
          api_key: '[redacted]',
          api_key_env: 'MY_KEY',
          headers: { 'x-auth': '[redacted]' },
        },
      },
      storage: { s3: { endpoint: 'http://redacted:redacted@minio:9000/?X-Amz-Signature=redacted', region: 'eu-west-1' } },
      models: [{ id: 'm', description: 'https://docs.example.com/m?token=redacted' }],
      limits: { rate: { rpm: 60 } },
    });
  });
});
