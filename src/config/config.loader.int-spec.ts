import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, ENV_BINDINGS, loadConfig } from './config.loader.js';

function yamlFile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'colloquy-config-'));
  const file = join(dir, 'colloquy.yaml');
  writeFileSync(file, text);
  return file;
}

describe('loadConfig', () => {
  it('accepts the shipped config/colloquy.yaml', () => {
    const config = loadConfig({ env: {}, rootDir: process.cwd() });
    expect(config.file).toMatch(/config\/colloquy\.yaml$/);
    expect(config.models.length).toBeGreaterThan(0);
    expect(config.models.find((m) => m.id === 'gpt-4o')?.pricing).toMatchObject({ input: 2.5, output: 10 });
  });

  it('applies documented defaults with no file and no environment', () => {
    const config = loadConfig({ env: {}, rootDir: mkdtempSync(join(tmpdir(), 'colloquy-root-')) });
    expect(config.http.port).toBe(3000);
    expect(config.http.host).toBe('0.0.0.0');
    expect(config.http.maxBodyBytes).toBe(25 * 1024 * 1024);
    expect(config.database.url).toBeNull();
    expect(config.s3).toBeNull();
    expect(config.providers.get('openai')?.configured).toBe(false);
    expect(config.providers.get('ollama')?.configured).toBe(false);
  });

  it('configures Ollama from its root URL and points at its /v1 API', () => {
    const config = loadConfig({ env: { OLLAMA_BASE_URL: 'http://gpu-box:11434/' }, file: yamlFile('{}') });
    expect(config.providers.get('ollama')).toMatchObject({ baseUrl: 'http://gpu-box:11434/v1', configured: true });
  });

  it('lets environment variables override the YAML file', () => {
    const file = yamlFile('server:\n  port: 4000\n  host: 127.0.0.1\n');
    const config = loadConfig({ env: { PORT: '5000', OPENAI_API_KEY: 'sk-test' }, file });
    expect(config.http.port).toBe(5000);
    expect(config.http.host).toBe('127.0.0.1');
    expect(config.providers.get('openai')).toMatchObject({ apiKey: 'sk-test', configured: true });
  });

  it('keeps the defaults of a section that an override only partly sets', () => {
    const config = loadConfig({ env: { RATE_LIMIT_RPM: '5' }, file: yamlFile('{}') });
    expect(config.limits.rate).toEqual({ rpm: 5, tpm: 200_000, defaultOutputTokens: 1024 });
  });

  it('keeps guest access off by default, and reads it from GUEST_ACCESS, GUEST_RPM_PER_IP, GUEST_DAILY_BUDGET_USD and GUEST_SCOPE', () => {
    expect(loadConfig({ env: {}, file: yamlFile('{}') }).guest).toEqual({ enabled: false, rpmPerIp: 10, dailyBudgetUsd: 0.5, scope: 'all' });
    const file = yamlFile('guest:\n  enabled: false\n  rpm_per_ip: 3\n');
    const config = loadConfig({ env: { GUEST_ACCESS: 'true', GUEST_DAILY_BUDGET_USD: '0.25', GUEST_SCOPE: 'stateless' }, file });
    expect(config.guest).toEqual({ enabled: true, rpmPerIp: 3, dailyBudgetUsd: 0.25, scope: 'stateless' });
    expect(config.redacted().guest).toEqual({ enabled: true, rpm_per_ip: 3, daily_budget_usd: 0.25, scope: 'stateless' });
    expect(() => loadConfig({ env: { GUEST_SCOPE: 'everything' }, file: yamlFile('{}') })).toThrow(/GUEST_SCOPE/);
    expect(() => loadConfig({ env: { GUEST_RPM_PER_IP: '-1' }, file: yamlFile('{}') })).toThrow(/GUEST_RPM_PER_IP \(guest\.rpm_per_ip\)/);
    expect(() => loadConfig({ env: {}, file: yamlFile('guest:\n  per_ip: 3\n') })).toThrow(/guest/);
  });

  it('treats empty variables as unset, as .env files often leave them', () => {
    const config = loadConfig({ env: { PORT: '', DATABASE_URL: '  ' }, file: yamlFile('{}') });
    expect(config.http.port).toBe(3000);
    expect(config.database.url).toBeNull();
  });

  it('reads MCP servers, filling ${VAR} in their url, headers and env from the environment, and keeps them out of GET /config', () => {
    const file = yamlFile(
      [
        'mcp_servers:',
        '  - { name: local, type: stdio, command: node, args: [server.js, "${NOT_SUBSTITUTED}"], env: { TOKEN: "${LOCAL_TOKEN}" } }',
        '  - { name: remote, type: streamable-http, url: "https://mcp.example.com/${MCP_PATH}", headers: { Authorization: "Bearer ${REMOTE_TOKEN}" } }',
      ].join('\n'),
    );
    const config = loadConfig({ env: { LOCAL_TOKEN: 'local-secret', REMOTE_TOKEN: 'remote-secret', MCP_PATH: 'mcp' }, file });
    expect(config.mcpServers).toEqual([
      { name: 'local', type: 'stdio', command: 'node', args: ['server.js', '${NOT_SUBSTITUTED}'], env: { TOKEN: 'local-secret' }, cwd: null },
      { name: 'remote', type: 'streamable-http', url: 'https://mcp.example.com/mcp', headers: { Authorization: 'Bearer remote-secret' } },
    ]);
    expect(config.tools).toMatchObject({ allow: { user: ['builtin'], admin: ['*'] }, timeoutMs: 30_000, maxResultTokens: 4_000, maxRounds: 5 });
    expect(JSON.stringify(config.redacted())).not.toMatch(/local-secret|remote-secret/);
  });

  it('refuses MCP servers it cannot use, naming the key', () => {
    const bad = (yaml: string) => () => loadConfig({ env: {}, file: yamlFile(yaml) });
    expect(bad('mcp_servers: [{ name: "Bad.Name", type: stdio, command: x }]')).toThrow(/mcp_servers\.0\.name/);
    expect(bad('mcp_servers: [{ name: a, type: stdio }]')).toThrow(/mcp_servers\.0\.command/);
    expect(bad('mcp_servers: [{ name: a, type: websocket, url: "ws://x" }]')).toThrow(/mcp_servers\.0\.type/);
    expect(bad('mcp_servers: [{ name: a, type: streamable-http, url: "not a url" }]')).toThrow(/mcp_servers\.0\.url/);
    expect(bad('mcp_servers: [{ name: a, type: stdio, command: x }, { name: a, type: stdio, command: y }]')).toThrow(/unique/);
    expect(() => loadConfig({ env: { TOOLS_MAX_ROUNDS: '21' }, file: yamlFile('{}') })).toThrow(/TOOLS_MAX_ROUNDS \(tools\.max_rounds\)/);
  });

  it('names the variable and the key of a bad value', () => {
    expect(() => loadConfig({ env: { PORT: 'eighty' }, file: yamlFile('{}') })).toThrow(
      expect.objectContaining({ message: expect.stringContaining('PORT (server.port)') }),
    );
    expect(() => loadConfig({ env: { LOG_LEVEL: 'loud' }, file: yamlFile('{}') })).toThrow(ConfigError);
  });

  it('names the YAML key of a bad value in the file', () => {
    const file = yamlFile('limits:\n  max_file_mb: -3\n');
    expect(() => loadConfig({ env: {}, file })).toThrow(/limits\.max_file_mb in .*colloquy\.yaml/);
  });

  it('rejects unknown keys so typos do not pass silently', () => {
    const file = yamlFile('server:\n  prot: 80\n');
    expect(() => loadConfig({ env: {}, file })).toThrow(/server/);
  });

  it('reads a custom provider key from the variable the file names', () => {
    const file = yamlFile('providers:\n  acme:\n    base_url: http://acme.test/v1\n    api_key_env: ACME_KEY\n');
    const config = loadConfig({ env: { ACME_KEY: 'k-1' }, file });
    expect(config.providers.get('acme')).toMatchObject({ baseUrl: 'http://acme.test/v1', apiKey: 'k-1' });
  });

  it('redacts every secret in the effective configuration', () => {
    const config = loadConfig({
      env: {
        OPENAI_API_KEY: 'sk-secret',
        S3_BUCKET: 'b',
        S3_SECRET_ACCESS_KEY: 's3-secret',
        DATABASE_URL: 'postgresql://app:pw-secret@db:5432/colloquy',
        COLLOQUY_ADMIN_KEY: 'admin-secret-0123456789',
        METRICS_TOKEN: 'metrics-secret',
        REDIS_URL: 'redis://:redis-secret@cache:6379',
      },
      file: yamlFile('{}'),
    });
    const text = JSON.stringify(config.redacted());
    for (const secret of ['sk-secret', 's3-secret', 'pw-secret', 'admin-secret', 'metrics-secret', 'redis-secret']) {
      expect(text).not.toContain(secret);
    }
    expect(text).toContain('db:5432');
  });
});

describe('.env.example', () => {
  it('documents exactly the variables the server reads', () => {
    const text = readFileSync('.env.example', 'utf8');
    const documented = new Set([...text.matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]));
    const read = new Set<string>([...ENV_BINDINGS.map(([name]) => name), 'CONFIG_FILE']);
    expect([...read].filter((n) => !documented.has(n))).toEqual([]);
    expect([...documented].filter((n) => !read.has(n))).toEqual([]);
  });
});
