import type { Client } from '@hubspot/api-client';
import { z } from 'zod';
import type { Config } from '../config/schema.ts';
import { NonRetryableError } from '../errors.ts';
import { errorForStatus, networkError, parseRetryAfter, truncate } from './http-status.ts';
import type { ActionContext, ActionDefinition } from './types.ts';

/** HubSpot's own association type: note → contact. */
const NOTE_TO_CONTACT = 202;

async function client(config: Config): Promise<Client> {
  // Loaded on first use: a server whose recipes never call HubSpot does not hold the SDK in memory.
  const { Client } = await import('@hubspot/api-client');
  // The SDK's own retries are off: hookline's retry schedule and dead letters apply instead.
  return new Client({ accessToken: config.connections.hubspot.access_token!, basePath: config.connections.hubspot.base_url.replace(/\/$/, ''), numberOfApiCallRetries: 0 });
}

/** HubSpot's SDK rejects with ApiException (status in `code`, headers as a plain object) or fetch's TypeError. */
async function call<T>(ctx: ActionContext, what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    const e = error as { code?: unknown; body?: unknown; headers?: Record<string, string> };
    if (typeof e.code === 'number') {
      const detail = typeof e.body === 'object' && e.body !== null ? String((e.body as { message?: string }).message ?? '') : String(e.body ?? '');
      ctx.trace.response = { status: e.code, body: e.body };
      throw errorForStatus(e.code, `HubSpot ${what}`, truncate(detail, 300), { retryAfterMs: parseRetryAfter(e.headers?.['retry-after'], ctx.clock.now()), connection: 'hubspot' });
    }
    throw networkError(`HubSpot ${what}`, error);
  }
}

type UpsertArgs = { email: string; properties: Record<string, string> };

/** Creates or updates a contact by email (batch upsert on idProperty=email: one idempotent call). */
export const hubspotUpsertContact: ActionDefinition<UpsertArgs> = {
  name: 'hubspot.upsert_contact',
  description: 'create or update a HubSpot contact by email',
  connection: 'hubspot',
  args: (t) =>
    z
      .object({
        email: z.string().min(3),
        properties: t(z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()]).transform((v) => (v === null ? '' : String(v))))).default({}),
      })
      .strict(),
  execute: async (args, ctx) => {
    const email = args.email.trim().toLowerCase();
    const api = await client(ctx.config);
    const properties = { ...args.properties, email };
    const input = { idProperty: 'email', id: email, properties };
    ctx.trace.request = { method: 'POST', path: '/crm/v3/objects/contacts/batch/upsert', body: { inputs: [input] } };
    try {
      const result = await call(ctx, 'contact upsert', () => api.crm.contacts.batchApi.upsert({ inputs: [input] }));
      const contact = result.results[0];
      if (!contact) throw new Error('HubSpot contact upsert answered without a contact');
      ctx.trace.response = { status: 200, body: { id: contact.id, new: (contact as { _new?: boolean })._new } };
      return { id: contact.id, email, created: (contact as { _new?: boolean })._new === true };
    } catch (error) {
      // A HubSpot-compatible API without the batch upsert endpoint: create, and update by email
      // when the contact exists (409). Real HubSpot always has the endpoint.
      if (!(error instanceof NonRetryableError && (error.status === 404 || error.status === 405))) throw error;
    }
    ctx.trace.request = { method: 'POST', path: '/crm/v3/objects/contacts', body: { properties } };
    try {
      const created = await call(ctx, 'contact create', () => api.crm.contacts.basicApi.create({ properties, associations: [] }));
      ctx.trace.response = { status: 201, body: { id: created.id } };
      return { id: created.id, email, created: true };
    } catch (error) {
      if (!(error instanceof NonRetryableError && error.status === 409)) throw error;
    }
    ctx.trace.request = { method: 'PATCH', path: `/crm/v3/objects/contacts/${email}?idProperty=email`, body: { properties } };
    const updated = await call(ctx, 'contact update', () => api.crm.contacts.basicApi.update(email, { properties }, 'email'));
    ctx.trace.response = { status: 200, body: { id: updated.id } };
    return { id: updated.id, email, created: false };
  },
  preview: (args, config) => ({ method: 'POST', url: `${config.connections.hubspot.base_url}/crm/v3/objects/contacts/batch/upsert`, body: { inputs: [{ idProperty: 'email', id: args.email, properties: args.properties }] } }),
  fake: (args) => ({ id: '1', email: args.email, created: true }),
};

type NoteArgs = { body: string; contact_id?: string | undefined; email?: string | undefined; timestamp?: string | undefined };

/** Adds a note (e.g. a transcript) associated to a contact, given by id or looked up by email. */
export const hubspotNote: ActionDefinition<NoteArgs> = {
  name: 'hubspot.note',
  description: 'add a note associated to a HubSpot contact (by contact_id, or by email)',
  connection: 'hubspot',
  args: () =>
    z
      .object({
        body: z.string().min(1).meta({ description: 'the note; HubSpot renders it as HTML' }),
        contact_id: z.union([z.string(), z.number()]).transform(String).optional(),
        email: z.string().optional(),
        timestamp: z.string().optional().meta({ description: 'ISO time of the note (default: now)' }),
      })
      .strict()
      .refine((a) => a.contact_id || a.email, { message: 'give contact_id or email' }),
  execute: async (args, ctx) => {
    const api = await client(ctx.config);
    const contactId =
      args.contact_id ??
      (await call(ctx, 'contact lookup', () => api.crm.contacts.basicApi.getById(args.email!.trim().toLowerCase(), undefined, undefined, undefined, false, 'email'))).id;
    const note = {
      properties: { hs_note_body: args.body, hs_timestamp: args.timestamp ?? new Date(ctx.clock.now()).toISOString() },
      associations: [{ to: { id: contactId }, types: [{ associationCategory: 'HUBSPOT_DEFINED' as never, associationTypeId: NOTE_TO_CONTACT }] }],
    };
    ctx.trace.request = { method: 'POST', path: '/crm/v3/objects/notes', body: note };
    const created = await call(ctx, 'note', () => api.crm.objects.notes.basicApi.create(note));
    ctx.trace.response = { status: 201, body: { id: created.id } };
    return { id: created.id, contact_id: contactId };
  },
  preview: (args, config) => ({ method: 'POST', url: `${config.connections.hubspot.base_url}/crm/v3/objects/notes`, body: { properties: { hs_note_body: args.body }, contact: args.contact_id ?? args.email } }),
  fake: (args) => ({ id: '1', contact_id: args.contact_id ?? '1' }),
};
