import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.ts';
import { configSecrets, createRedactor, redactUrl } from '../../src/observability/redact.ts';
import { tempDir, testConfig } from '../helpers/env.ts';

const key = 'sk_live_a+b/c=d&e f"g';

describe('the redactor', () => {
  const r = createRedactor([{ name: 'env.KEY', value: key }]);

  it('replaces a secret as written, inside JSON text, and URL-encoded in either form', () => {
    expect(r.text(`key ${key}.`)).toBe('key [redacted].');
    expect(r.text(JSON.stringify({ message: `key ${key}` }))).toBe('{"message":"key [redacted]"}');
    const url = new URL('https://api.example/x');
    url.searchParams.set('api_key', key);
    expect(r.text(url.toString())).toBe('https://api.example/x?api_key=[redacted]');
    expect(r.text(`https://api.example/x?api_key=${encodeURIComponent(key)}`)).toBe('https://api.example/x?api_key=[redacted]');
  });

  it('redacts every string of a record, keeping its shape (and valid JSON)', () => {
    const record = { error: `401 for ${key}`, request: { url: `https://x/?k=${encodeURIComponent(key)}`, headers: { 'x-key': key }, n: 3 }, list: [key, null, true] };
    expect(r.value(record)).toEqual({ error: '401 for [redacted]', request: { url: 'https://x/?k=[redacted]', headers: { 'x-key': '[redacted]' }, n: 3 }, list: ['[redacted]', null, true] });
    expect(r.value(undefined)).toBeUndefined();
  });

  it('leaves values shorter than 8 characters alone, and names them', () => {
    const short = createRedactor([{ name: 'admin.token', value: 'prod' }, { name: 'env.LONG', value: 'long-enough-value' }, { name: 'env.EMPTY', value: '' }]);
    expect(short.text('prod long-enough-value')).toBe('prod [redacted]');
    expect(short.tooShort).toEqual(['admin.token']);
  });

  it('with nothing to redact, changes nothing', () => {
    const none = createRedactor([]);
    const record = { a: 1 };
    expect(none.value(record)).toBe(record);
    expect(none.text('x')).toBe('x');
  });
});

describe('the secrets of a configuration', () => {
  it('are the source secrets, connection credentials, the admin token, the store password and the allow-listed env values', () => {
    const temp = tempDir();
    try {
      const config = testConfig(temp.dir, {
        store: { url: 'postgres://app:p%40ss-w0rd@db.internal:5432/hookline' },
        connections: {
          slack: { webhook_url: 'https://hooks.slack.com/services/T0/B0/XXXXXXXXXXXX' },
          hubspot: { access_token: 'pat-na1-0000' },
          pagerduty: { routing_key: 'R0UTINGKEY0000' },
          openai: { api_key: 'sk-openai-0000' },
        },
        admin: { token: 'admin-token-0000' },
        env: ['ZENDESK'],
      } as never);
      const secrets = configSecrets(config, { muro: ['generated-dev-secret'] }, { ZENDESK: 'zd-token-0000' });
      expect(Object.fromEntries(secrets.map((s) => [s.value, s.name]))).toEqual({
        'generated-dev-secret': 'sources.muro.secrets[0]',
        'muro-test-secret': 'sources.muro.secrets[0]',
        whsec_meru_test_secret: 'sources.meru.secrets[0]',
        'https://hooks.slack.com/services/T0/B0/XXXXXXXXXXXX': 'connections.slack.webhook_url',
        '/services/T0/B0/XXXXXXXXXXXX': 'connections.slack.webhook_url (path)',
        'pat-na1-0000': 'connections.hubspot.access_token',
        R0UTINGKEY0000: 'connections.pagerduty.routing_key',
        'sk-openai-0000': 'connections.openai.api_key',
        'admin-token-0000': 'admin.token',
        'p%40ss-w0rd': 'store.url password',
        'p@ss-w0rd': 'store.url password',
        'zd-token-0000': 'env.ZENDESK',
      });
    } finally {
      temp.cleanup();
    }
  });
});

describe('redactUrl (the store URL printed at start)', () => {
  it('hides the password however it is written', () => {
    expect(redactUrl('postgres://app:s3cret@db:5432/h')).toBe('postgres://app:***@db:5432/h');
    // An unencoded @ in the password: the last @ ends the user part.
    expect(redactUrl('postgres://app:s3cr@t@db:5432/h')).toBe('postgres://app:***@db:5432/h');
    expect(redactUrl('postgres://:s3cret@db/h')).toBe('postgres://:***@db/h');
    expect(redactUrl('postgresql://db/h?user=app&password=s3cret')).toBe('postgresql://db/h?user=app&password=***');
    expect(redactUrl('postgres://app@db/h')).toBe('postgres://app@db/h');
    expect(redactUrl('sqlite:./data/hookline.db')).toBe('sqlite:./data/hookline.db');
  });
});

describe('the logger', () => {
  it('writes no secret value, wherever in the line it is (message, field, error), and still redacts by path', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const logger = createLogger('info', sink, createRedactor([{ name: 'env.KEY', value: key }]));
    logger.info({ url: `https://x/?k=${encodeURIComponent(key)}` }, `calling with ${key}`);
    logger.error({ err: new Error(`rejected ${key}`) }, 'failed');
    logger.info({ headers: { authorization: 'Bearer other' } }, 'by path');
    const text = lines.join('');
    expect(text).not.toContain('sk_live');
    expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>)).toMatchObject([
      { msg: 'calling with [redacted]', url: 'https://x/?k=[redacted]' },
      { msg: 'failed', err: { message: 'rejected [redacted]' } },
      { headers: { authorization: '[redacted]' } },
    ]);
  });
});
