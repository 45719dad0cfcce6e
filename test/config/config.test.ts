import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exampleConfigFile, findConfigFile, loadConfig, parseConfig } from '../../src/config/load.ts';
import { configSchema } from '../../src/config/schema.ts';
import { ConfigError } from '../../src/errors.ts';
import { generatedSchemas } from '../../src/schemas.ts';
import { tempDir } from '../helpers/env.ts';

const cwd = '/srv/hookline';
const parse = (text: string, env: NodeJS.ProcessEnv = {}) => parseConfig('hookline.yaml', text, env, cwd);

function diagnostics(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).diagnostics.map((d) => `${d.file}:${d.line}:${d.col}: ${d.message}`);
  }
  throw new Error('expected a ConfigError');
}

describe('defaults', () => {
  it('the schema defaults are exactly config.example.yaml (with no variables set)', () => {
    const example = loadConfig({ env: {}, cwd }).config;
    // Without the bundled file underneath: the schema's own defaults.
    const empty = parseConfig('hookline.yaml', '{}', {}, cwd, null);
    expect(example).toEqual(empty);
    expect(example.server.port).toBe(3000);
    expect(example.server.body_limit).toBe(25 * 1024 * 1024);
    expect(example.store.url).toBe('sqlite:/srv/hookline/data/hookline.db');
    expect(example.sources.muro!.secrets).toEqual([]);
    expect(example.retry.schedule).toEqual([30_000, 60_000, 300_000, 1_800_000, 7_200_000, 21_600_000]);
  });

  it('falls back: --config, then HOOKLINE_CONFIG, then ./hookline.yaml, then the bundled example', () => {
    const temp = tempDir();
    try {
      expect(findConfigFile({ cwd: temp.dir, env: {} })).toEqual({ file: exampleConfigFile, isExample: true });
      writeFileSync(join(temp.dir, 'hookline.yaml'), '{}');
      expect(findConfigFile({ cwd: temp.dir, env: {} }).file).toBe(join(temp.dir, 'hookline.yaml'));
      mkdirSync(join(temp.dir, 'etc'));
      writeFileSync(join(temp.dir, 'etc/a.yaml'), '{}');
      writeFileSync(join(temp.dir, 'etc/b.yaml'), '{}');
      expect(findConfigFile({ cwd: temp.dir, env: { HOOKLINE_CONFIG: 'etc/a.yaml' } }).file).toBe(join(temp.dir, 'etc/a.yaml'));
      expect(findConfigFile({ cwd: temp.dir, env: { HOOKLINE_CONFIG: 'etc/a.yaml' }, file: 'etc/b.yaml' }).file).toBe(join(temp.dir, 'etc/b.yaml'));
      expect(diagnostics(() => findConfigFile({ cwd: temp.dir, env: {}, file: 'missing.yaml' }))[0]).toMatch(/missing\.yaml:1:1: config file not found/);
    } finally {
      temp.cleanup();
    }
  });
});

describe('environment interpolation', () => {
  const text = `
server:
  port: \${PORT:-3000}
  host: "\${HOST}"
sources:
  muro:
    secrets: [ "\${MURO_A}", "\${MURO_B}" ]
connections:
  slack: { webhook_url: "\${SLACK_WEBHOOK_URL}" }
vars:
  literal: "$\${NOT_A_VAR}"
  mixed: "https://\${DOMAIN:-example.com}/inbox"
`;
  it('substitutes ${VAR} and ${VAR:-default}, keeps $${...} literal', () => {
    const config = parse(text, { PORT: '8080', HOST: '10.0.0.1', MURO_A: 'one', MURO_B: 'two', SLACK_WEBHOOK_URL: 'https://hooks.example/x', DOMAIN: 'acme.example' });
    expect(config.server).toMatchObject({ port: 8080, host: '10.0.0.1' });
    expect(config.sources.muro!.secrets).toEqual(['one', 'two']);
    expect(config.connections.slack.webhook_url).toBe('https://hooks.example/x');
    expect(config.vars).toMatchObject({ literal: '${NOT_A_VAR}', mixed: 'https://acme.example/inbox' });
  });

  it('treats unset variables as "not configured" and uses defaults for unset or empty ones', () => {
    const config = parse(text, { PORT: '', MURO_B: 'only-b' });
    expect(config.server.port).toBe(3000);
    expect(config.sources.muro!.secrets).toEqual(['only-b']);
    expect(config.connections.slack.webhook_url).toBeUndefined();
    expect(config.vars.mixed).toBe('https://example.com/inbox');
  });
});

describe('a partial file: keys left out take the bundled defaults, with their ${VAR} bindings', () => {
  const env = {
    MURO_WEBHOOK_SECRET: 'muro-from-env',
    MERU_WEBHOOK_SECRET: 'whsec_from_env',
    PORT: '4321',
    SLACK_WEBHOOK_URL: 'https://hooks.slack.test/services/x',
    HOOKLINE_ADMIN_TOKEN: 'admin-from-env',
    HOOKLINE_STORE_URL: 'postgres://hookline:pw@db:5432/hookline',
  };
  const exampleLine = (pattern: RegExp) => readFileSync(exampleConfigFile, 'utf8').split('\n').findIndex((l) => pattern.test(l)) + 1;

  it('a file holding only retry: still reads the secrets, port, connections and admin token from the environment', () => {
    const config = parse('retry:\n  schedule: [1s, 5s]\n', env);
    expect(config.retry).toMatchObject({ schedule: [1_000, 5_000], timeout: 10_000, jitter: 0.2 });
    expect(config.server.port).toBe(4321);
    expect(config.sources.muro!.secrets).toEqual(['muro-from-env']);
    expect(config.sources.meru!.secrets).toEqual(['whsec_from_env']);
    expect(config.connections.slack.webhook_url).toBe('https://hooks.slack.test/services/x');
    expect(config.admin.token).toBe('admin-from-env');
    expect(config.store.url).toBe('postgres://hookline:pw@db:5432/hookline');
  });

  it('mappings merge, lists and scalars replace, an empty mapping keeps the defaults', () => {
    const config = parse(
      ['sources:', '  muro: { tolerance: 1m }', 'vars:', '  vip_emails: []', '  team: support', 'retry:', 'env: [ TEAM ]', 'admin: { token: "" }'].join('\n'),
      env,
    );
    expect(config.sources.muro!).toMatchObject({ tolerance: 60_000, secrets: ['muro-from-env'], path: '/muro/webhook' });
    expect(config.vars).toEqual({ muro_inbox_url: 'https://app.muro.chat/inbox', vip_emails: [], vip_first_response_timeout: '2m', team: 'support' });
    expect(config.retry.schedule).toHaveLength(6);
    expect(config.env).toEqual(['TEAM']);
    expect(config.admin.token).toBeUndefined();
  });

  it('an error in a default names the bundled file and line; an error in the file names the file', () => {
    const errors = diagnostics(() => parse('retry:\n  timeout: soon\n', { ...env, PORT: 'http' }));
    expect(errors).toEqual([
      expect.stringMatching(new RegExp(`^${exampleConfigFile.replace(/[.]/g, '\\.')}:${exampleLine(/^  port: /)}:9: server\\.port: .*\\(a default from the bundled config\\.example\\.yaml: set server\\.port in hookline\\.yaml, or fix the environment variable it reads\\)$`)),
      expect.stringMatching(/^hookline\.yaml:2:12: retry\.timeout: expected a duration/),
    ]);
  });
});

describe('errors name the file, line, column and what was expected', () => {
  it('reports every problem at once, each at its own position', () => {
    const text = ['server:', '  port: 99999', 'sources:', '  muro:', '    tolerence: 5m', '    dedup_ttl: 5 minutes', 'store:', '  url: mysql://x'].join('\n');
    expect(diagnostics(() => parse(text))).toEqual([
      expect.stringMatching(/^hookline\.yaml:2:9: server\.port: .*65535/),
      expect.stringMatching(/^hookline\.yaml:8:8: store\.url: expected sqlite:<file> or postgres:/),
      expect.stringMatching(/^hookline\.yaml:6:16: sources\.muro\.dedup_ttl: expected a duration such as 500ms, 30s, 5m, 2h or 1d, got "5 minutes"/),
      expect.stringMatching(/^hookline\.yaml:5:5: sources\.muro: unknown key "tolerence"/),
    ]);
  });

  it('reports YAML syntax errors with their position', () => {
    expect(diagnostics(() => parse('server:\n  port: [3000\n')).join('\n')).toMatch(/^hookline\.yaml:\d+:\d+: YAML syntax:/);
    expect(diagnostics(() => parse('a: 1\na: 2\n'))[0]).toMatch(/^hookline\.yaml:2:1: YAML syntax: .*unique/i);
  });

  it('refuses a document that is not a mapping, and wrong types', () => {
    expect(diagnostics(() => parse('- 1\n- 2\n'))[0]).toMatch(/expected a mapping/);
    expect(diagnostics(() => parse('retry:\n  schedule: 30s\n'))[0]).toMatch(/^hookline\.yaml:2:13: retry\.schedule: .*array/);
    expect(diagnostics(() => parse('server:\n  body_limit: lots\n'))[0]).toMatch(/expected a size such as 512kb/);
  });
});

describe('the shipped JSON Schemas', () => {
  it('are generated from the current schema definitions (run `npm run schema` after changing them)', () => {
    for (const [file, schema] of Object.entries(generatedSchemas())) {
      const shipped = JSON.parse(readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8'));
      expect(shipped, file).toEqual(schema);
    }
  });

  it('describe every config key and accept ${VAR} where a number or pattern is expected', () => {
    const schema = generatedSchemas()['schema/config.schema.json'] as any;
    expect(Object.keys(schema.properties).sort()).toEqual(Object.keys(configSchema.shape).sort());
    const patterns = (node: unknown): string[] =>
      typeof node !== 'object' || node === null ? [] : Object.entries(node).flatMap(([k, v]) => (k === 'pattern' ? [v as string] : patterns(v)));
    const accepts = (node: unknown, text: string) => patterns(node).some((p) => new RegExp(p).test(text));
    expect(accepts(schema.properties.server.properties.port, '${PORT:-3000}')).toBe(true);
    expect(accepts(schema.properties.store.properties.url, '${HOOKLINE_STORE_URL:-sqlite:./data/hookline.db}')).toBe(true);
  });

  it('is referenced from the shipped YAML so that editors use it', () => {
    expect(readFileSync(exampleConfigFile, 'utf8').split('\n')[0]).toBe('# yaml-language-server: $schema=./schema/config.schema.json');
  });
});
