import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { createSource, presetFor, presetNames, presets, SourcePresetError } from '../../src/sources/index.ts';

describe('presetFor', () => {
  it('defaults to the key for muro and meru only', () => {
    expect(presetFor('muro', {}).name).toBe('muro');
    expect(presetFor('meru', {}).name).toBe('meru');
    expect(presetFor('chat', { preset: 'muro' }).name).toBe('muro');
    expect(presetFor('github', { preset: 'github' }).name).toBe('github');
    expect(() => presetFor('github', {})).toThrow(/source "github": set preset: to one of muro, meru, standard-webhooks, github, stripe, shopify, hmac/);
    expect(() => presetFor('hmac', {})).toThrow(SourcePresetError);
  });

  it('names the presets when one is unknown, and keeps "hookline" for hookline\'s own events', () => {
    expect(() => presetFor('x', { preset: 'svix' })).toThrow(/unknown preset "svix"; use one of muro, meru/);
    expect(() => presetFor('x', { preset: 'toString' })).toThrow(/unknown preset/);
    expect(() => presetFor('hookline', { preset: 'hmac' })).toThrow(/reserved for hookline's own events/);
  });

  it('lists the seven presets, each named as its key', () => {
    expect(presetNames).toEqual(['muro', 'meru', 'standard-webhooks', 'github', 'stripe', 'shopify', 'hmac']);
    for (const name of presetNames) {
      expect(presets[name].name).toBe(name);
      expect(presets[name].description.length).toBeGreaterThan(10);
    }
  });
});

describe('preset options', () => {
  it('fill in defaults and leave the common keys (path, secrets) to the config schema', () => {
    const muro = createSource('muro', { path: '/m', secrets: ['s'] });
    expect(muro.transcript).toEqual({ conversation_id: 'data.conversation.id', messages: '$append(data.messages, data.message)', message_id: 'id' });
    expect(presets.meru.options.parse({ attachment_limit: '1mb' })).toEqual({ attachment_limit: 1024 * 1024, email_attachments_limit: 25 * 1024 * 1024 });
  });

  it('refuse an hmac signature the receiver could not check, saying what to change', () => {
    const problems = (signature: object, extra: object = {}) => {
      const result = presets.hmac.options.safeParse({ signature, ...extra });
      return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    };
    expect(problems({ header: 'x-sig' })).toEqual([]);
    expect(problems({ header: 'x-sig', signed: '{timestamp}.{payload}', timestamp_header: 'x-ts' })).toEqual([
      'signature.signed: unknown placeholder {payload}; use {body}, {timestamp} or {id}',
      'signature.signed: signed must contain {body} exactly once',
    ]);
    expect(problems({ header: 'x-sig', signed: '{timestamp}.{body}' })).toEqual(['signature.timestamp_header: {timestamp} is signed: set timestamp_header to the header that carries it']);
    expect(problems({ header: 'x-sig', timestamp_header: 'x-ts' })).toEqual(['signature.signed: timestamp_header is set but signed has no {timestamp}; add it where the sender puts it']);
    expect(problems({ header: 'x-sig', signed: '{id}{body}' })).toEqual(['signature.id_header: {id} is signed: set id_header to the header that carries it']);
    expect(problems({ header: 'x-sig', prefix: 'a,b' })).toEqual(['signature.prefix: a prefix cannot contain a comma (commas separate several signatures)']);
    expect(problems({ header: 'x-sig', algorithm: 'md5' })[0]).toMatch(/^signature.algorithm/);
    expect(problems({ header: 'x-sig', extra: 1 })[0]).toMatch(/extra/);
    expect(problems({ header: 'x-sig' }, { id: 'body.(' })[0]).toMatch(/^id: invalid JSONata/);
    expect(problems({})[0]).toMatch(/^signature.header/);
  });

  it('describe themselves as JSON Schema for the config schema and editors', () => {
    for (const name of presetNames) {
      const schema = z.toJSONSchema(presets[name].options, { io: 'input', unrepresentable: 'any' }) as { type: string };
      expect(schema.type, name).toBe('object');
    }
    const hmac = z.toJSONSchema(presets.hmac.options, { io: 'input', unrepresentable: 'any' }) as { properties: Record<string, { properties?: Record<string, unknown> }> };
    expect(Object.keys(hmac.properties.signature!.properties!)).toEqual(['header', 'prefix', 'encoding', 'algorithm', 'signed', 'timestamp_header', 'id_header']);
  });
});
