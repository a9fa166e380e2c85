import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configPath, DEFAULT_URL, normalizeUrl, readConfigFile, resolveConfig, writeConfigFile } from './config.js';
import { UsageError } from './usage-error.js';

const file = { url: 'http://from-file:3000', api_key: 'key-from-file' };
const env = { COLLOQUY_URL: 'http://from-env:3000', COLLOQUY_API_KEY: 'key-from-env' };

describe('resolveConfig', () => {
  it('takes flags over the environment over the file', () => {
    const resolved = resolveConfig({ flags: { url: 'http://from-flag:3000', key: 'key-from-flag' }, env, file, path: 'x' });
    expect(resolved).toMatchObject({ url: 'http://from-flag:3000', apiKey: 'key-from-flag', sources: { url: 'flag', apiKey: 'flag' } });
    expect(resolveConfig({ flags: {}, env, file, path: 'x' })).toMatchObject({ url: 'http://from-env:3000', apiKey: 'key-from-env' });
    expect(resolveConfig({ flags: {}, env: {}, file, path: 'x' })).toMatchObject({ url: 'http://from-file:3000', apiKey: 'key-from-file' });
  });

  it('mixes sources per value, and ignores empty variables', () => {
    const resolved = resolveConfig({ flags: {}, env: { COLLOQUY_URL: '', COLLOQUY_API_KEY: 'key-from-env' }, file, path: 'x' });
    expect(resolved).toMatchObject({ url: 'http://from-file:3000', apiKey: 'key-from-env', sources: { url: 'file', apiKey: 'env' } });
  });

  it('falls back to the local default URL, with no key', () => {
    expect(resolveConfig({ flags: {}, env: {}, file: {}, path: 'x' })).toMatchObject({
      url: DEFAULT_URL,
      apiKey: null,
      sources: { url: 'default', apiKey: null },
    });
  });
});

describe('normalizeUrl', () => {
  it('drops trailing slashes and an OpenAI-style /v1', () => {
    expect(normalizeUrl('https://chat.example.com/')).toBe('https://chat.example.com');
    expect(normalizeUrl('http://localhost:3000/v1/')).toBe('http://localhost:3000');
    expect(normalizeUrl('https://example.com/colloquy')).toBe('https://example.com/colloquy');
  });

  it('refuses what is not an http(s) URL', () => {
    for (const bad of ['localhost:3000', 'ftp://host', 'http://']) expect(() => normalizeUrl(bad)).toThrow(UsageError);
  });
});

describe('the config file', () => {
  it('is found through COLLOQUY_CONFIG, then XDG_CONFIG_HOME, then ~/.config', () => {
    expect(configPath({ COLLOQUY_CONFIG: '/a/b.json', XDG_CONFIG_HOME: '/xdg' }, '/home/u')).toBe('/a/b.json');
    expect(configPath({ XDG_CONFIG_HOME: '/xdg' }, '/home/u')).toBe('/xdg/colloquy/config.json');
    expect(configPath({}, '/home/u')).toBe('/home/u/.config/colloquy/config.json');
  });

  it('is written owner-only in an owner-only directory, even over a readable file', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'colloquy-config-spec-')), 'colloquy');
    const path = join(dir, 'config.json');
    writeConfigFile(path, file);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readConfigFile(path)).toEqual(file);

    writeFileSync(path, '{}', { mode: 0o644 });
    writeConfigFile(path, { url: 'http://other' });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ url: 'http://other' });
  });

  it('reads as empty when missing, and as a usage error naming it when damaged', () => {
    const dir = mkdtempSync(join(tmpdir(), 'colloquy-config-spec-'));
    expect(readConfigFile(join(dir, 'missing.json'))).toEqual({});
    writeFileSync(join(dir, 'bad.json'), '{ not json');
    expect(() => readConfigFile(join(dir, 'bad.json'))).toThrow(new RegExp(`${dir}/bad\\.json is not valid JSON`));
  });
});
