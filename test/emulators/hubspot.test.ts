// @hubspot/api-client 14 against the HubSpot emulator.
//
// Construction: new Client({ accessToken, basePath: emulator.basePath }). `basePath` replaces
// https://api.hubapi.com for every API; the token goes out as `Authorization: Bearer <token>`.
//
// How the SDK surfaces failures (every API method rejects with the generated ApiException;
// each codegen module has its OWN ApiException class, so `instanceof` needs the class of the
// module that threw, e.g. .../crm/contacts/index.js for contacts, .../crm/objects/notes/index.js
// for notes; checking `error.code` is simpler):
//   error.code                       the HTTP status (number)
//   error.body                       the parsed JSON body as sent (the generated code asks for
//                                    the model "Error", which is not in its type map, so the JSON
//                                    comes through untouched): message, category, correlationId,
//                                    and for a 429 also errorType and policyName.
//   error.headers                    plain object, lower-case names: error.headers['retry-after'],
//                                    error.headers['x-hubspot-ratelimit-remaining'], ...
//   error.message                    "HTTP-Code: 429\nMessage: An error occurred.\nBody: {...}\nHeaders: {...}"
// A connection failure rejects with fetch's TypeError ('fetch failed'), no `code` number.
//
// Retries: none unless `numberOfApiCallRetries` (0..6) is given, and that number is the TOTAL
// number of attempts. It retries 5xx after 200 ms × attempt, and 429 only when body.policyName
// is TEN_SECONDLY_ROLLING (after 10 s × attempt!) or body.message is "You have reached your
// secondly limit." (after 1 s × attempt); Retry-After is ignored. It logs each retry with
// console.error.
// The retry/limiter decorators live in a process-wide singleton that each `new Client()`
// overwrites and that an API object captures when first touched (client.crm...): touch the APIs
// right after constructing the client.
import { Client } from '@hubspot/api-client';
import { ApiException as ContactsApiException, FilterOperatorEnum } from '@hubspot/api-client/lib/codegen/crm/contacts/index.js';
import { AssociationSpecAssociationCategoryEnum } from '@hubspot/api-client/lib/codegen/crm/objects/notes/index.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { NOTE_TO_CONTACT, startHubSpotEmulator, type HubSpotEmulator } from './hubspot.ts';

let hubspot: HubSpotEmulator;

beforeAll(async () => {
  hubspot = await startHubSpotEmulator({ accessToken: 'pat-test-token' });
});
afterAll(async () => {
  await hubspot.close();
});
beforeEach(() => {
  hubspot.reset();
});

function crm(options: { accessToken?: string; numberOfApiCallRetries?: number } = {}) {
  const client = new Client({ accessToken: 'pat-test-token', basePath: hubspot.basePath, ...options });
  return { contacts: client.crm.contacts, notes: client.crm.objects.notes };
}

interface HubSpotApiError {
  code: number;
  body: { message?: string; category?: string; correlationId?: string; subCategory?: string } & Record<string, unknown>;
  headers: Record<string, string>;
}

async function apiError(promise: Promise<unknown>): Promise<HubSpotApiError> {
  try {
    await promise;
  } catch (error) {
    return error as HubSpotApiError;
  }
  throw new Error('expected the call to reject');
}

const noteTo = (contactId: string) => [{
  to: { id: contactId },
  types: [{ associationCategory: AssociationSpecAssociationCategoryEnum.HubspotDefined, associationTypeId: NOTE_TO_CONTACT }],
}];

describe('HubSpot emulator with @hubspot/api-client', () => {
  it('creates, reads (by id and email), updates (by id and email) and searches contacts', async () => {
    const { contacts } = crm();
    const created = await contacts.basicApi.create({
      properties: { email: 'ada@example.com', firstname: 'Ada', lastname: 'Lovelace' },
      associations: [],
    });
    expect(created.id).toMatch(/^\d+$/);
    expect(created.properties['email']).toBe('ada@example.com');
    expect(created.createdAt).toBeInstanceOf(Date);
    expect(hubspot.requests[0]?.headers['authorization']).toBe('Bearer pat-test-token');

    const byId = await contacts.basicApi.getById(created.id, ['firstname', 'company']);
    expect(byId.properties).toMatchObject({ firstname: 'Ada', company: null, hs_object_id: created.id });
    const byEmail = await contacts.basicApi.getById('ada@example.com', undefined, undefined, undefined, false, 'email');
    expect(byEmail.id).toBe(created.id);

    await contacts.basicApi.update(created.id, { properties: { company: 'Analytical Engines' } });
    const updated = await contacts.basicApi.update('ADA@example.com', { properties: { lastname: 'King' } }, 'email');
    expect(updated.properties).toMatchObject({ company: 'Analytical Engines', lastname: 'King' });
    expect(hubspot.requests.at(-1)?.query).toEqual({ idProperty: 'email' });
    expect(hubspot.contactByEmail('ada@example.com')?.properties['lastname']).toBe('King');

    hubspot.seedContact({ email: 'grace@example.com', firstname: 'Grace' });
    const found = await contacts.searchApi.doSearch({
      filterGroups: [{ filters: [{ propertyName: 'email', operator: FilterOperatorEnum.Eq, value: 'grace@example.com' }] }],
      properties: ['email', 'firstname'],
      limit: 10,
    });
    expect(found.total).toBe(1);
    expect(found.results[0]?.properties).toMatchObject({ email: 'grace@example.com', firstname: 'Grace' });
    const none = await contacts.searchApi.doSearch({
      filterGroups: [{ filters: [{ propertyName: 'email', operator: FilterOperatorEnum.Eq, value: 'nobody@example.com' }] }],
    });
    expect(none).toMatchObject({ total: 0, results: [] });
  });

  it('batch upsert by email creates new contacts and updates existing ones', async () => {
    const existing = hubspot.seedContact({ email: 'ada@example.com', firstname: 'Ada' });
    const { contacts } = crm();
    const result = await contacts.batchApi.upsert({
      inputs: [
        { idProperty: 'email', id: 'ada@example.com', properties: { lastname: 'Lovelace' } },
        { idProperty: 'email', id: 'alan@example.com', properties: { firstname: 'Alan' } },
      ],
    });
    expect(result.status).toBe('COMPLETE');
    const byEmail = new Map(result.results.map((r) => [r.properties['email'], r]));
    expect(byEmail.get('ada@example.com')).toMatchObject({ id: existing.id, _new: false });
    expect(byEmail.get('alan@example.com')?._new).toBe(true);
    expect(hubspot.contacts.size).toBe(2);
    expect(hubspot.contactByEmail('ada@example.com')?.properties['lastname']).toBe('Lovelace');
  });

  it('409 CONFLICT names the existing id when the email is taken', async () => {
    const existing = hubspot.seedContact({ email: 'ada@example.com' });
    const error = await apiError(crm().contacts.basicApi.create({ properties: { email: 'Ada@Example.com' }, associations: [] }));
    expect(error).toBeInstanceOf(ContactsApiException);
    expect(error.code).toBe(409);
    expect(error.body.category).toBe('CONFLICT');
    expect(error.body.message).toBe(`Contact already exists. Existing ID: ${existing.id}`);
    expect(hubspot.contacts.size).toBe(1);
  });

  it('400 VALIDATION_ERROR for an invalid email, 404 for an unknown contact', async () => {
    const { contacts } = crm();
    const invalid = await apiError(contacts.basicApi.create({ properties: { email: 'not-an-email' }, associations: [] }));
    expect(invalid.code).toBe(400);
    expect(invalid.body.category).toBe('VALIDATION_ERROR');
    expect(invalid.body.message).toContain('INVALID_EMAIL');

    const missing = await apiError(contacts.basicApi.getById('999999'));
    expect(missing.code).toBe(404);
    expect(missing.body.category).toBe('OBJECT_NOT_FOUND');
  });

  it('creates a note associated with a contact', async () => {
    const contact = hubspot.seedContact({ email: 'ada@example.com' });
    const { notes } = crm();
    const note = await notes.basicApi.create({
      properties: { hs_note_body: 'Called about the invoice', hs_timestamp: '2025-01-02T03:04:05Z' },
      associations: noteTo(contact.id),
    });
    expect(note.properties['hs_note_body']).toBe('Called about the invoice');
    expect(hubspot.notesForContact(contact.id).map((n) => n.id)).toEqual([note.id]);
    expect(hubspot.notes.get(note.id)?.properties['hs_timestamp']).toBe('2025-01-02T03:04:05.000Z');
    expect(hubspot.requests[0]?.body).toMatchObject({
      associations: [{ to: { id: contact.id }, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 202 }] }],
    });

    const read = await notes.basicApi.getById(note.id, undefined, undefined, ['contacts']);
    expect(read.associations?.['contacts']?.results[0]?.id).toBe(contact.id);
  });

  it('rejects a note without hs_timestamp or with an unknown contact', async () => {
    const contact = hubspot.seedContact({ email: 'ada@example.com' });
    const { notes } = crm();
    const noTimestamp = await apiError(notes.basicApi.create({
      properties: { hs_note_body: 'x' },
      associations: noteTo(contact.id),
    }));
    expect(noTimestamp.code).toBe(400);
    expect(noTimestamp.body.category).toBe('VALIDATION_ERROR');
    expect(noTimestamp.body.message).toContain('hs_timestamp');

    const unknownContact = await apiError(notes.basicApi.create({
      properties: { hs_note_body: 'x', hs_timestamp: String(Date.now()) },
      associations: noteTo('424242'),
    }));
    expect(unknownContact.code).toBe(400);
    expect(unknownContact.body.message).toContain('424242');
    expect(hubspot.notes.size).toBe(0);
  });

  it('401 INVALID_AUTHENTICATION for a wrong token', async () => {
    const error = await apiError(crm({ accessToken: 'pat-wrong' }).contacts.basicApi.getById('1'));
    expect(error.code).toBe(401);
    expect(error.body.category).toBe('INVALID_AUTHENTICATION');
    expect(error.body.correlationId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('403 MISSING_SCOPES when the token lacks the write scope', async () => {
    const readOnly = await startHubSpotEmulator({ accessToken: 'pat-test-token', scopes: ['crm.objects.contacts.read'] });
    try {
      const client = new Client({ accessToken: 'pat-test-token', basePath: readOnly.basePath });
      const contacts = client.crm.contacts;
      const error = await apiError(contacts.basicApi.create({ properties: { email: 'a@b.co' }, associations: [] }));
      expect(error.code).toBe(403);
      expect(error.body.category).toBe('MISSING_SCOPES');
      expect(readOnly.contacts.size).toBe(0);
      await expect(contacts.searchApi.doSearch({ filterGroups: [] })).resolves.toMatchObject({ total: 0 });
    } finally {
      await readOnly.close();
    }
  });

  it('429: status, Retry-After and rate-limit headers on error.headers, policyName on error.body', async () => {
    hubspot.failNext({ status: 429, retryAfter: 3 });
    const error = await apiError(crm().contacts.basicApi.getById('1'));
    expect(error.code).toBe(429);
    expect(error.headers['retry-after']).toBe('3');
    expect(error.headers['x-hubspot-ratelimit-remaining']).toBe('0');
    expect(error.headers['x-hubspot-ratelimit-max']).toBe('190');
    expect(error.body).toMatchObject({
      status: 'error',
      category: 'RATE_LIMITS',
      errorType: 'RATE_LIMIT',
      policyName: 'TEN_SECONDLY_ROLLING',
      message: 'You have reached your ten_secondly_rolling limit.',
    });
    expect(hubspot.requests).toHaveLength(1);
  });

  it('numberOfApiCallRetries retries a "secondly limit" 429 after about a second', async () => {
    const contact = hubspot.seedContact({ email: 'ada@example.com' });
    hubspot.failNext({
      status: 429,
      body: { status: 'error', message: 'You have reached your secondly limit.', errorType: 'RATE_LIMIT', policyName: 'SECONDLY' },
    });
    const { contacts } = crm({ numberOfApiCallRetries: 2 });
    await expect(contacts.basicApi.getById(contact.id)).resolves.toMatchObject({ id: contact.id });
    const [first, second] = hubspot.requests;
    expect(hubspot.requests.map((r) => r.status)).toEqual([429, 200]);
    expect((second?.time ?? 0) - (first?.time ?? 0)).toBeGreaterThanOrEqual(900);
  });

  it('enforces a rolling-window rate limit with HubSpot headers', async () => {
    const limited = await startHubSpotEmulator({ accessToken: 'pat-test-token', rateLimit: { max: 2, intervalMs: 60_000 } });
    try {
      const client = new Client({ accessToken: 'pat-test-token', basePath: limited.basePath });
      const contacts = client.crm.contacts;
      const first = await contacts.basicApi.createWithHttpInfo({ properties: { email: 'a@b.co' }, associations: [] });
      expect(first.headers['x-hubspot-ratelimit-remaining']).toBe('1');
      await contacts.basicApi.getById(first.data.id);
      const error = await apiError(contacts.basicApi.getById(first.data.id));
      expect(error.code).toBe(429);
      expect(error.headers['x-hubspot-ratelimit-remaining']).toBe('0');
      expect(limited.requests.map((r) => r.status)).toEqual([201, 200, 429]);
    } finally {
      await limited.close();
    }
  });

  it('500 surfaces as code 500; numberOfApiCallRetries retries it', async () => {
    hubspot.failNext(500);
    const error = await apiError(crm().contacts.basicApi.getById('1'));
    expect(error.code).toBe(500);
    expect(error.body.message).toBe('internal error');

    hubspot.reset();
    const contact = hubspot.seedContact({ email: 'ada@example.com' });
    hubspot.failNext(503);
    const { contacts } = crm({ numberOfApiCallRetries: 2 });
    await expect(contacts.basicApi.getById(contact.id)).resolves.toMatchObject({ id: contact.id });
    expect(hubspot.requests.map((r) => r.status)).toEqual([503, 200]);
  });

  it('a destroyed connection rejects without an HTTP code', async () => {
    hubspot.setDown(true, 'destroy');
    const error = await apiError(crm().contacts.basicApi.getById('1'));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.code).toBeUndefined();
    hubspot.setDown(false);
    await hubspot.waitForRequests(1);
  });
});
