import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { planReload } from '../../src/config/reload.ts';
import { ConfigError } from '../../src/errors.ts';
import { generatedSchemas } from '../../src/schemas.ts';
import { sourceNamed, sourcesOf } from '../../src/sources/configured.ts';
import { presetNames } from '../../src/sources/index.ts';

// The sources: map (PRODUCT §9): any number of sources, each a preset with its own keys, laid over
// the bundled config.example.yaml like every other key.

const cwd = '/srv/hookline';
const env = { MURO_WEBHOOK_SECRET: 'muro-from-env', MERU_WEBHOOK_SECRET: 'whsec_from_env', GITHUB_WEBHOOK_SECRET: 'gh-secret', STRIPE_WEBHOOK_SECRET: 'whsec_stripe' };
const parse = (text: string, vars: NodeJS.ProcessEnv = env) => parseConfig('hookline.yaml', text, vars, cwd);

function diagnostics(text: string): string[] {
  try {
    parse(text);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).diagnostics.map((d) => `${d.file}:${d.line}:${d.col}: ${d.message}`);
  }
  throw new Error('expected a ConfigError');
}

/** PRODUCT §9's example, exactly, plus a Shopify source under the preset's own name. */
const allSeven = `
sources:
  muro:   { secrets: [ "\${MURO_WEBHOOK_SECRET}" ] }
  github: { preset: github, path: /github/webhook, secrets: [ "\${GITHUB_WEBHOOK_SECRET}" ] }
  stripe: { preset: stripe, path: /stripe/webhook, secrets: [ "\${STRIPE_WEBHOOK_SECRET}" ] }
  app:    { preset: standard-webhooks, path: /app/webhook, secrets: [ "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" ] }
  shop:   { preset: shopify, path: /shopify/webhook, secrets: [ "\${SHOPIFY_SECRET}" ] }
  custom:
    preset: hmac
    path: /custom/webhook
    secrets: [ "\${CUSTOM_SECRET}" ]
    signature: { header: x-signature, prefix: "sha256=", encoding: hex, algorithm: sha256,
                 signed: "{timestamp}.{body}", timestamp_header: x-timestamp }
    id: body.event_id          # JSONata over { body, headers }
    type: headers."x-event"
`;

describe('the sources map', () => {
  it('takes PRODUCT §9\'s example as written: all seven presets at once, each with its own path and keys', () => {
    const config = parse(allSeven, { ...env, SHOPIFY_SECRET: 'shpss_0123', CUSTOM_SECRET: 'custom-secret' });
    expect(Object.keys(config.sources).sort()).toEqual(['app', 'custom', 'github', 'meru', 'muro', 'shop', 'stripe']);
    expect(sourcesOf(config).map((s) => s.preset.name).sort()).toEqual([...presetNames].sort());
    expect(config.sources.muro).toMatchObject({ preset: 'muro', path: '/muro/webhook', secrets: ['muro-from-env'], tolerance: 300_000, alert_after: 300_000 });
    expect(config.sources.github).toMatchObject({ preset: 'github', path: '/github/webhook', secrets: ['gh-secret'] });
    expect(config.sources.custom).toMatchObject({ preset: 'hmac', id: 'body.event_id', type: 'headers."x-event"', signature: { header: 'x-signature', timestamp_header: 'x-timestamp' } });
    expect(sourceNamed(config, 'custom')!.scheme.signatureHeaders).toEqual(['x-signature']);
    expect(sourceNamed(config, 'muro')!.scheme.transcript?.conversation_id).toBe('data.conversation.id');
  });

  it('a file that adds github: only keeps muro and meru, with the example\'s ${VAR} bindings', () => {
    const config = parse('sources:\n  github: { preset: github, secrets: [ "${GITHUB_WEBHOOK_SECRET}" ], tolerance: 1m }\n');
    expect(Object.keys(config.sources)).toEqual(['muro', 'meru', 'github']);
    expect(config.sources.muro).toMatchObject({ preset: 'muro', secrets: ['muro-from-env'], path: '/muro/webhook' });
    expect(config.sources.meru).toMatchObject({ preset: 'meru', secrets: ['whsec_from_env'], attachment_limit: 10 * 1024 * 1024 });
    // The path defaults to /<name>/webhook; the preset's own defaults and the common ones apply.
    expect(config.sources.github).toMatchObject({ preset: 'github', path: '/github/webhook', secrets: ['gh-secret'], tolerance: 60_000, dedup_ttl: 86_400_000, enabled: true });
  });

  it('a source the operator does not receive is turned off, not removed (the example keeps defining it)', () => {
    const config = parse('sources:\n  meru: { enabled: false }\n  shop: { preset: shopify, secrets: [ s3cr3t-shop-0123 ] }\n');
    expect(config.sources.meru!.enabled).toBe(false);
    expect(sourcesOf(config).filter((s) => s.config.enabled).map((s) => s.name)).toEqual(['muro', 'shop']);
  });

  it('a preset named for another key, and several sources of one preset', () => {
    const config = parse('sources:\n  chat: { preset: muro, secrets: [ a-chat-secret ] }\n  chat-eu: { preset: muro, path: /eu/chat, secrets: [ another-secret ] }\n');
    expect(config.sources.chat).toMatchObject({ preset: 'muro', path: '/chat/webhook' });
    expect(config.sources['chat-eu']).toMatchObject({ preset: 'muro', path: '/eu/chat' });
  });
});

describe('sources that cannot work are refused with the file position and the fix', () => {
  it('a source without preset (only muro and meru default to their key), or an unknown preset', () => {
    expect(diagnostics('sources:\n  github: { secrets: [ x ] }\n')).toEqual([
      expect.stringMatching(/^hookline\.yaml:2:11: sources\.github\.preset: set preset: to one of muro, meru, standard-webhooks, github, stripe, shopify, hmac \(only muro and meru default to their key\)$/),
    ]);
    expect(diagnostics('sources:\n  svix: { preset: svix }\n')).toEqual([expect.stringMatching(/^hookline\.yaml:2:19: sources\.svix\.preset: unknown preset "svix"; use one of muro, meru/)]);
  });

  it('a key another preset does not have, a hmac signature it could not check, a bad JSONata id', () => {
    expect(diagnostics('sources:\n  gh:\n    preset: github\n    transcript: {}\n')).toEqual([expect.stringMatching(/^hookline\.yaml:4:5: sources\.gh: unknown key "transcript"$/)]);
    expect(diagnostics('sources:\n  c:\n    preset: hmac\n    signature: { header: x-sig, signed: "{timestamp}.{body}" }\n    id: body.(\n')).toEqual([
      expect.stringMatching(/^hookline\.yaml:4:16: sources\.c\.signature\.timestamp_header: \{timestamp\} is signed: set timestamp_header/),
      expect.stringMatching(/^hookline\.yaml:5:9: sources\.c\.id: invalid JSONata/),
    ]);
  });

  it('"hookline" is reserved, names are what recipes can write, and two sources cannot share a path', () => {
    expect(diagnostics('sources:\n  hookline: { preset: github }\n')).toEqual([expect.stringMatching(/^hookline\.yaml:2:13: sources\.hookline: the source name "hookline" is reserved for hookline's own events/)]);
    expect(diagnostics('sources:\n  GitHub/x: { preset: github }\n')).toEqual([expect.stringMatching(/sources\.GitHub\/x: a source name is lower-case letters, digits, - and _/)]);
    expect(diagnostics('sources:\n  chat: { preset: muro, path: /muro/webhook }\n')).toEqual([
      expect.stringMatching(/^hookline\.yaml:2:31: sources\.chat\.path: \/muro\/webhook is already the path of source muro; give each source its own path$/),
    ]);
    // A disabled source holds no path.
    expect(() => parse('sources:\n  muro: { enabled: false }\n  chat: { preset: muro, path: /muro/webhook }\n')).not.toThrow();
  });

  it('a secret in the wrong format for its provider (a Stripe API key, a Standard Webhooks secret that is not base64)', () => {
    expect(diagnostics('sources:\n  stripe: { preset: stripe, secrets: [ sk_live_0123456789 ] }\n')).toEqual([
      expect.stringMatching(/^hookline\.yaml:2:40: sources\.stripe\.secrets\.0: this is a Stripe API key; the webhook signing secret \(whsec_\.\.\.\)/),
    ]);
    expect(diagnostics('sources:\n  app: { preset: standard-webhooks, secrets: [ "whsec_not base64!" ] }\n')[0]).toMatch(/sources\.app\.secrets\.0: a Standard Webhooks secret is whsec_ followed by base64/);
  });
});

describe('reloading the sources', () => {
  const base = parse(allSeven, { ...env, SHOPIFY_SECRET: 'shpss_0123', CUSTOM_SECRET: 'custom-secret' });
  const next = (text: string) => parse(text, { ...env, SHOPIFY_SECRET: 'shpss_0123', CUSTOM_SECRET: 'custom-secret' });

  it('applies any source\'s secrets, tolerance, dedup and alert_after at once; a new source, a path or a preset change needs a restart', () => {
    const changed = next(
      `${allSeven}\n`
        .replace('[ "${GITHUB_WEBHOOK_SECRET}" ]', '[ "${GITHUB_WEBHOOK_SECRET}", "gh-next-secret" ], alert_after: 1m')
        .replace('path: /stripe/webhook', 'path: /payments/webhook')
        .replace('preset: shopify', 'preset: github')
        .concat('  extra: { preset: github, secrets: [ another-one ] }\n'),
    );
    const plan = planReload(base, changed);
    expect(plan.applied.sort()).toEqual(['sources.github.alert_after', 'sources.github.secrets']);
    expect(plan.restart.sort()).toEqual(['sources.extra', 'sources.shop.preset', 'sources.stripe.path']);
    expect(plan.config.sources.github!.secrets).toEqual(['gh-secret', 'gh-next-secret']);
    expect(plan.config.sources.extra).toBeUndefined();
    expect(plan.config.sources.shop!.preset).toBe('shopify');
    expect(sourceNamed(plan.config, 'shop')!.preset.name).toBe('shopify');
  });
});

describe('the JSON Schema for editors', () => {
  const schema = generatedSchemas()['schema/config.schema.json'] as any;
  const sources = schema.properties.sources;

  it('offers every preset with its own keys, muro and meru without preset:, and checks source names', () => {
    const refs = (node: { oneOf: Array<{ $ref: string }> }) => node.oneOf.map((o) => o.$ref.replace('#/$defs/', ''));
    expect(refs(sources.additionalProperties)).toEqual(presetNames.map((n) => `source-${n}`));
    expect(refs(sources.properties.muro)[0]).toBe('source-muro-by-key');
    expect(schema.$defs['source-muro-by-key'].required ?? []).not.toContain('preset');
    expect(schema.$defs['source-github'].required).toContain('preset');
    expect(Object.keys(schema.$defs['source-hmac'].properties)).toEqual(expect.arrayContaining(['signature', 'id', 'type', 'secrets', 'alert_after']));
    expect(Object.keys(schema.$defs['source-meru'].properties)).toEqual(expect.arrayContaining(['attachment_limit', 'email_attachments_limit']));
    expect(schema.$defs['source-github'].additionalProperties).toBe(false);
    expect(new RegExp(sources.propertyNames.pattern).test('shop-eu')).toBe(true);
    expect(new RegExp(sources.propertyNames.pattern).test('Shop/EU')).toBe(false);
    expect(sources.propertyNames.not).toEqual({ const: 'hookline' });
  });
});
