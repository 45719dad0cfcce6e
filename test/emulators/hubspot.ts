// Emulator of the HubSpot CRM v3 endpoints that hookline uses, as @hubspot/api-client 14
// calls them (paths and bodies checked against node_modules/@hubspot/api-client/lib/codegen):
//
//   POST   /crm/v3/objects/contacts                 basicApi.create           201
//   GET    /crm/v3/objects/contacts/{id}[?idProperty=email&properties=a,b]
//                                                   basicApi.getById          200
//   PATCH  /crm/v3/objects/contacts/{id}[?idProperty=email]
//                                                   basicApi.update           200
//   DELETE /crm/v3/objects/contacts/{id}            basicApi.archive          204
//   POST   /crm/v3/objects/contacts/search          searchApi.doSearch        200
//   POST   /crm/v3/objects/contacts/batch/upsert    batchApi.upsert           200
//   POST   /crm/v3/objects/notes                    notes.basicApi.create     201
//   GET    /crm/v3/objects/notes/{id}[?associations=contacts]
//                                                   notes.basicApi.getById    200
//
// Errors use HubSpot's JSON shape {status:"error", message, correlationId, category, ...}:
// 401 INVALID_AUTHENTICATION, 403 MISSING_SCOPES (when `scopes` is set), 404 OBJECT_NOT_FOUND,
// 409 CONFLICT ("Contact already exists. Existing ID: <id>"), 400 VALIDATION_ERROR, and 429
// with the rate-limit body (policyName TEN_SECONDLY_ROLLING) and X-HubSpot-RateLimit-* headers.
// The exact wording of the 400 messages for notes/associations and of the 401 message for a
// wrong token is an approximation; the shapes and categories are HubSpot's.
import { randomUUID } from 'node:crypto';
import { queryValue, queryValues, startEmulator } from './emulator.ts';
import type { Emulator, EmulatorResponse, RecordedRequest, ScriptedFailure } from './emulator.ts';

export interface HubSpotEmulatorOptions {
  /** The private-app / OAuth access token the emulator accepts. */
  accessToken?: string;
  /**
   * Granted scopes. When set, a call whose scope is missing answers 403 MISSING_SCOPES.
   * Reads need `crm.objects.contacts.read`, writes (notes included) `crm.objects.contacts.write`.
   */
  scopes?: string[];
  /** Enforce a rolling-window limit: more than `max` calls per `intervalMs` answer 429. */
  rateLimit?: { max: number; intervalMs?: number };
  /** Serve the batch upsert endpoint (default true); false answers it 404 like an unknown route. */
  batchUpsert?: boolean;
  /** Clock for createdAt/updatedAt (default: the real clock). */
  now?: () => Date;
}

export interface CrmObject {
  id: string;
  properties: Record<string, string | null>;
  createdAt: string;
  updatedAt: string;
  archived: boolean;
}

export interface HubSpotNote extends CrmObject {
  /** Ids of the contacts the note is associated with (association type 202). */
  contactIds: string[];
}

export interface HubSpotEmulator extends Emulator {
  /** Give this to `new Client({ basePath })`. */
  readonly basePath: string;
  readonly accessToken: string;
  /** Contacts by id. */
  readonly contacts: Map<string, CrmObject>;
  /** Notes by id. */
  readonly notes: Map<string, HubSpotNote>;
  contactByEmail(email: string): CrmObject | undefined;
  notesForContact(contactId: string): HubSpotNote[];
  /** Put a contact in place without an HTTP call (for arranging a test). */
  seedContact(properties: Record<string, string>): CrmObject;
}

/** Association type id of note -> contact, category HUBSPOT_DEFINED. */
export const NOTE_TO_CONTACT = 202;
const DEFAULT_RATE_MAX = 190;
const DEFAULT_RATE_INTERVAL_MS = 10_000;
const DEFAULT_CONTACT_PROPERTIES = ['createdate', 'email', 'firstname', 'hs_object_id', 'lastmodifieddate', 'lastname'];
const SEARCHABLE = ['email', 'firstname', 'lastname', 'phone', 'company', 'website', 'domain'];
const JSON_HEADERS = { 'Content-Type': 'application/json;charset=utf-8' };
const READ = 'crm.objects.contacts.read';
const WRITE = 'crm.objects.contacts.write';

type Json = Record<string, unknown>;

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function hubspotError(status: number, category: string | undefined, message: string, extra: Json = {}): EmulatorResponse {
  const body: Json = { status: 'error', message, correlationId: randomUUID(), ...extra };
  if (category) body['category'] = category;
  return { status, headers: { ...JSON_HEADERS }, body };
}

const notFound = (message = 'resource not found'): EmulatorResponse => hubspotError(404, 'OBJECT_NOT_FOUND', message);

function validationError(message: string, extra: Json = {}): EmulatorResponse {
  return hubspotError(400, 'VALIDATION_ERROR', message, extra);
}

function invalidProperties(errors: Array<{ name: string; error: string; message: string }>): EmulatorResponse {
  const detail = errors.map((e) => ({ isValid: false, message: e.message, error: e.error, name: e.name }));
  return validationError(`Property values were not valid: ${JSON.stringify(detail)}`);
}

function rateLimitBody(): Json {
  return {
    status: 'error',
    message: 'You have reached your ten_secondly_rolling limit.',
    errorType: 'RATE_LIMIT',
    correlationId: randomUUID(),
    policyName: 'TEN_SECONDLY_ROLLING',
    category: 'RATE_LIMITS',
  };
}

/** HubSpot's error body for a status the emulator is scripted to fail with. */
function failureBody(status: number): Json {
  const base = { status: 'error', correlationId: randomUUID() };
  switch (status) {
    case 400:
      return { ...base, message: 'Invalid input JSON', category: 'VALIDATION_ERROR' };
    case 401:
      return { ...base, message: 'Authentication credentials not found.', category: 'INVALID_AUTHENTICATION' };
    case 403:
      return { ...base, message: "This app hasn't been granted all required scopes to make this call.", category: 'MISSING_SCOPES' };
    case 404:
      return { ...base, message: 'resource not found', category: 'OBJECT_NOT_FOUND' };
    case 409:
      return { ...base, message: 'Conflict', category: 'CONFLICT' };
    case 429:
      return rateLimitBody();
    case 502:
      return { ...base, message: 'Bad Gateway' };
    case 503:
      return { ...base, message: 'Service Unavailable' };
    case 504:
      return { ...base, message: 'Gateway Timeout' };
    default:
      return { ...base, message: 'internal error' };
  }
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Property values arrive as strings (the SDK types say so); numbers and booleans are coerced like HubSpot does. */
function normalizeProperties(input: unknown): Record<string, string | null> | undefined {
  if (input === undefined) return {};
  if (!isRecord(input)) return undefined;
  const out: Record<string, string | null> = {};
  for (const [key, value] of Object.entries(input)) {
    out[key] = value === null ? null : typeof value === 'object' ? JSON.stringify(value) : String(value);
  }
  return out;
}

function compare(a: string, b: string): number {
  const na = Number(a);
  const nb = Number(b);
  if (a.trim() !== '' && b.trim() !== '' && !Number.isNaN(na) && !Number.isNaN(nb)) return na - nb;
  const da = Date.parse(a);
  const db = Date.parse(b);
  if (!Number.isNaN(da) && !Number.isNaN(db)) return da - db;
  return a.localeCompare(b);
}

function containsToken(value: string, token: string): boolean {
  const lower = value.toLowerCase();
  const wanted = token.toLowerCase();
  if (wanted.includes('*')) {
    const pattern = wanted.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*');
    return new RegExp(`^${pattern}$`).test(lower) || lower.split(/[\s@.,;:_-]+/).some((t) => new RegExp(`^${pattern}$`).test(t));
  }
  return lower === wanted || lower.split(/[\s@.,;:_-]+/).includes(wanted);
}

const OPERATORS = new Set([
  'EQ', 'NEQ', 'LT', 'LTE', 'GT', 'GTE', 'BETWEEN', 'IN', 'NOT_IN',
  'HAS_PROPERTY', 'NOT_HAS_PROPERTY', 'CONTAINS_TOKEN', 'NOT_CONTAINS_TOKEN',
]);

function matchesFilter(object: CrmObject, filter: Json): boolean {
  const name = String(filter['propertyName']);
  const operator = String(filter['operator']);
  const actual = name === 'hs_object_id' ? object.id : object.properties[name];
  const has = actual !== undefined && actual !== null && actual !== '';
  const value = filter['value'] === undefined ? undefined : String(filter['value']);
  const values = Array.isArray(filter['values']) ? filter['values'].map(String) : [];
  if (operator === 'HAS_PROPERTY') return has;
  if (operator === 'NOT_HAS_PROPERTY') return !has;
  if (operator === 'NEQ') return !has || value === undefined || actual.toLowerCase() !== value.toLowerCase();
  if (operator === 'NOT_IN') return !has || !values.some((v) => v.toLowerCase() === actual.toLowerCase());
  if (operator === 'NOT_CONTAINS_TOKEN') return !has || value === undefined || !containsToken(actual, value);
  if (!has) return false;
  switch (operator) {
    case 'EQ':
      return value !== undefined && actual.toLowerCase() === value.toLowerCase();
    case 'IN':
      return values.some((v) => v.toLowerCase() === actual.toLowerCase());
    case 'CONTAINS_TOKEN':
      return value !== undefined && containsToken(actual, value);
    case 'LT':
      return value !== undefined && compare(actual, value) < 0;
    case 'LTE':
      return value !== undefined && compare(actual, value) <= 0;
    case 'GT':
      return value !== undefined && compare(actual, value) > 0;
    case 'GTE':
      return value !== undefined && compare(actual, value) >= 0;
    case 'BETWEEN': {
      const high = filter['highValue'] === undefined ? undefined : String(filter['highValue']);
      return value !== undefined && high !== undefined && compare(actual, value) >= 0 && compare(actual, high) <= 0;
    }
    default:
      return false;
  }
}

export async function startHubSpotEmulator(options: HubSpotEmulatorOptions = {}): Promise<HubSpotEmulator> {
  const accessToken = options.accessToken ?? 'pat-na1-00000000-0000-4000-8000-emulator0000';
  const now = options.now ?? (() => new Date());
  const rateMax = options.rateLimit?.max ?? DEFAULT_RATE_MAX;
  const rateInterval = options.rateLimit?.intervalMs ?? DEFAULT_RATE_INTERVAL_MS;
  const contacts = new Map<string, CrmObject>();
  const notes = new Map<string, HubSpotNote>();
  const callTimes: number[] = [];
  // HubSpot ids are numeric strings; contacts and notes get separate ranges.
  let nextContactId = 1001;
  let nextNoteId = 5_000_001;

  const contactByEmail = (email: string): CrmObject | undefined => {
    const wanted = email.toLowerCase();
    for (const contact of contacts.values()) {
      if (contact.properties['email']?.toLowerCase() === wanted) return contact;
    }
    return undefined;
  };

  const createContact = (properties: Record<string, string | null>): CrmObject => {
    const id = String(nextContactId++);
    const stamp = now().toISOString();
    const contact: CrmObject = {
      id,
      properties: { ...properties, createdate: stamp, lastmodifieddate: stamp, hs_object_id: id },
      createdAt: stamp,
      updatedAt: stamp,
      archived: false,
    };
    contacts.set(id, contact);
    return contact;
  };

  const updateObject = (object: CrmObject, properties: Record<string, string | null>): void => {
    const stamp = now().toISOString();
    Object.assign(object.properties, properties, { lastmodifieddate: stamp, hs_object_id: object.id });
    object.updatedAt = stamp;
  };

  /** The properties HubSpot returns: the requested ones, or its default set. */
  const view = (object: CrmObject, requested: string[] | undefined, all = false): Json => {
    let properties: Record<string, string | null>;
    if (all) {
      properties = { ...object.properties };
    } else {
      const names = requested && requested.length > 0
        ? [...new Set([...requested, 'hs_object_id', 'createdate', 'lastmodifieddate'])]
        : DEFAULT_CONTACT_PROPERTIES;
      properties = {};
      for (const name of names) properties[name] = object.properties[name] ?? null;
    }
    return { id: object.id, properties, createdAt: object.createdAt, updatedAt: object.updatedAt, archived: object.archived };
  };

  const validateContactProperties = (properties: Record<string, string | null>): EmulatorResponse | undefined => {
    const email = properties['email'];
    if (email !== undefined && email !== null && email !== '' && !EMAIL.test(email)) {
      return invalidProperties([{ name: 'email', error: 'INVALID_EMAIL', message: `Email address ${email} is invalid` }]);
    }
    return undefined;
  };

  const conflict = (existing: CrmObject): EmulatorResponse =>
    hubspotError(409, 'CONFLICT', `Contact already exists. Existing ID: ${existing.id}`);

  const findContact = (req: RecordedRequest, idOrEmail: string): CrmObject | undefined => {
    const idProperty = queryValue(req.query, 'idProperty');
    if (idProperty === 'email') return contactByEmail(idOrEmail);
    if (idProperty !== undefined && idProperty !== 'hs_object_id') {
      for (const contact of contacts.values()) if (contact.properties[idProperty] === idOrEmail) return contact;
      return undefined;
    }
    return contacts.get(idOrEmail);
  };

  // ---- routes ----------------------------------------------------------------------------

  const createContactRoute = (req: RecordedRequest): EmulatorResponse => {
    if (!isRecord(req.body)) return validationError('Invalid input JSON on line 1, column 1: Cannot build SimplePublicObjectInputForCreate');
    const properties = normalizeProperties(req.body['properties']);
    if (!properties) return validationError('Invalid input JSON: properties must be an object');
    const invalid = validateContactProperties(properties);
    if (invalid) return invalid;
    const email = properties['email'];
    const existing = email ? contactByEmail(email) : undefined;
    if (existing) return conflict(existing);
    const contact = createContact(properties);
    return { status: 201, headers: { ...JSON_HEADERS }, body: view(contact, undefined, true) };
  };

  const getContactRoute = (req: RecordedRequest, id: string): EmulatorResponse => {
    const contact = findContact(req, id);
    if (!contact) return notFound();
    return { status: 200, headers: { ...JSON_HEADERS }, body: view(contact, queryValues(req.query, 'properties')) };
  };

  const updateContactRoute = (req: RecordedRequest, id: string): EmulatorResponse => {
    const contact = findContact(req, id);
    if (!contact) return notFound();
    if (!isRecord(req.body)) return validationError('Invalid input JSON: Cannot build SimplePublicObjectInput');
    const properties = normalizeProperties(req.body['properties']);
    if (!properties) return validationError('Invalid input JSON: properties must be an object');
    const invalid = validateContactProperties(properties);
    if (invalid) return invalid;
    const email = properties['email'];
    const other = email ? contactByEmail(email) : undefined;
    if (other && other.id !== contact.id) return conflict(other);
    updateObject(contact, properties);
    return { status: 200, headers: { ...JSON_HEADERS }, body: view(contact, undefined, true) };
  };

  const searchRoute = (req: RecordedRequest): EmulatorResponse => {
    const body = isRecord(req.body) ? req.body : {};
    const groups = body['filterGroups'] ?? [];
    if (!Array.isArray(groups)) return validationError('Invalid input JSON: filterGroups must be an array');
    if (groups.length > 5) return validationError(`Too many filter groups (${groups.length}); the maximum is 5.`);
    let filterCount = 0;
    for (const group of groups) {
      const filters = isRecord(group) && Array.isArray(group['filters']) ? group['filters'] : undefined;
      if (!filters) return validationError('Invalid input JSON: each filter group needs a filters array');
      if (filters.length > 6) return validationError(`Too many filters in a group (${filters.length}); the maximum is 6.`);
      filterCount += filters.length;
      for (const filter of filters) {
        if (!isRecord(filter) || typeof filter['propertyName'] !== 'string') {
          return validationError('Invalid input JSON: a filter needs a propertyName');
        }
        if (!OPERATORS.has(String(filter['operator']))) {
          return validationError(`Invalid input JSON: unknown operator ${String(filter['operator'])}`);
        }
      }
    }
    if (filterCount > 18) return validationError(`Too many filters (${filterCount}); the maximum is 18.`);
    const limit = body['limit'] === undefined ? 10 : Number(body['limit']);
    if (!Number.isInteger(limit) || limit < 0 || limit > 200) {
      return validationError(`limit must be between 0 and 200, got ${String(body['limit'])}`);
    }
    const after = body['after'] === undefined ? 0 : Number(body['after']);
    const query = typeof body['query'] === 'string' ? body['query'].toLowerCase() : '';

    let matches = [...contacts.values()].filter((contact) => {
      const inGroups = groups.length === 0 || groups.some((group: Json) =>
        (group['filters'] as Json[]).every((filter) => matchesFilter(contact, filter)));
      const inQuery = query === '' ||
        SEARCHABLE.some((name) => contact.properties[name]?.toLowerCase().includes(query));
      return inGroups && inQuery;
    });
    const sorts = Array.isArray(body['sorts']) ? body['sorts'] : [];
    const sort = sorts[0];
    if (sort !== undefined) {
      const name = typeof sort === 'string' ? sort.replace(/^-/, '') : String((sort as Json)['propertyName']);
      const descending = typeof sort === 'string' ? sort.startsWith('-') : (sort as Json)['direction'] === 'DESCENDING';
      matches = matches.sort((a, b) => {
        const order = compare(a.properties[name] ?? '', b.properties[name] ?? '');
        return descending ? -order : order;
      });
    } else {
      matches = matches.sort((a, b) => Number(a.id) - Number(b.id));
    }
    const page = matches.slice(after, after + limit);
    const properties = Array.isArray(body['properties']) ? body['properties'].map(String) : undefined;
    const result: Json = { total: matches.length, results: page.map((c) => view(c, properties)) };
    if (after + limit < matches.length) result['paging'] = { next: { after: String(after + limit) } };
    return { status: 200, headers: { ...JSON_HEADERS }, body: result };
  };

  const batchUpsertRoute = (req: RecordedRequest): EmulatorResponse => {
    const inputs = isRecord(req.body) ? req.body['inputs'] : undefined;
    if (!Array.isArray(inputs)) return validationError('Invalid input JSON: inputs must be an array');
    if (inputs.length === 0 || inputs.length > 100) {
      return validationError(`inputs must contain between 1 and 100 items, got ${inputs.length}`);
    }
    const seen = new Set<string>();
    for (const input of inputs) {
      if (!isRecord(input) || typeof input['id'] !== 'string') return validationError('Invalid input JSON: each input needs an id');
      if (input['idProperty'] !== 'email') {
        return validationError(`Upsert is only supported with idProperty email here, got ${String(input['idProperty'])}`);
      }
      const key = input['id'].toLowerCase();
      if (seen.has(key)) return validationError(`Duplicate IDs found in batch input: [${input['id']}]. IDs must be unique`);
      seen.add(key);
      const properties = normalizeProperties(input['properties']);
      if (!properties) return validationError('Invalid input JSON: properties must be an object');
      const invalid = validateContactProperties({ ...properties, email: input['id'] });
      if (invalid) return invalid;
    }
    const startedAt = now().toISOString();
    const results = inputs.map((raw) => {
      const input = raw as Json;
      const email = String(input['id']);
      const properties = normalizeProperties(input['properties']) ?? {};
      const existing = contactByEmail(email);
      if (existing) {
        updateObject(existing, properties);
        return { ...view(existing, undefined, true), new: false };
      }
      return { ...view(createContact({ ...properties, email }), undefined, true), new: true };
    });
    return {
      status: 200,
      headers: { ...JSON_HEADERS },
      body: { status: 'COMPLETE', results, startedAt, completedAt: now().toISOString() },
    };
  };

  const createNoteRoute = (req: RecordedRequest): EmulatorResponse => {
    if (!isRecord(req.body)) return validationError('Invalid input JSON: Cannot build SimplePublicObjectInputForCreate');
    const properties = normalizeProperties(req.body['properties']);
    if (!properties) return validationError('Invalid input JSON: properties must be an object');
    const timestamp = properties['hs_timestamp'];
    if (timestamp === undefined || timestamp === null || timestamp === '') {
      return invalidProperties([{ name: 'hs_timestamp', error: 'REQUIRED_FIELD', message: 'hs_timestamp is required' }]);
    }
    const millis = /^\d+$/.test(timestamp) ? Number(timestamp) : Date.parse(timestamp);
    if (Number.isNaN(millis)) {
      return invalidProperties([{
        name: 'hs_timestamp',
        error: 'INVALID_DATE',
        message: `${timestamp} was not a valid long or ISO 8601 date-time`,
      }]);
    }
    const associations = req.body['associations'] ?? [];
    if (!Array.isArray(associations)) return validationError('Invalid input JSON: associations must be an array');
    const contactIds: string[] = [];
    for (const association of associations) {
      const to = isRecord(association) && isRecord(association['to']) ? String(association['to']['id']) : undefined;
      const types = isRecord(association) && Array.isArray(association['types']) ? association['types'] : [];
      if (!to || types.length === 0) return validationError('Invalid input JSON: an association needs to.id and types');
      for (const type of types) {
        const category = isRecord(type) ? type['associationCategory'] : undefined;
        const typeId = isRecord(type) ? Number(type['associationTypeId']) : NaN;
        if (category !== 'HUBSPOT_DEFINED' || typeId !== NOTE_TO_CONTACT) {
          return validationError(
            `Association type ${String(category)}/${String(typeId)} is not valid from note here; ` +
              `use HUBSPOT_DEFINED/${NOTE_TO_CONTACT} (note to contact)`,
            { subCategory: 'crm.associations.INVALID_ASSOCIATION_TYPE' },
          );
        }
      }
      if (!contacts.has(to)) {
        return validationError(`One or more associations are invalid: contact ${to} does not exist`, {
          subCategory: 'crm.associations.INVALID_OBJECT_IDS',
          context: { ids: [to] },
        });
      }
      if (!contactIds.includes(to)) contactIds.push(to);
    }
    const id = String(nextNoteId++);
    const stamp = now().toISOString();
    const note: HubSpotNote = {
      id,
      properties: {
        ...properties,
        hs_timestamp: new Date(millis).toISOString(),
        hs_createdate: stamp,
        hs_lastmodifieddate: stamp,
        hs_object_id: id,
      },
      createdAt: stamp,
      updatedAt: stamp,
      archived: false,
      contactIds,
    };
    notes.set(id, note);
    return { status: 201, headers: { ...JSON_HEADERS }, body: view(note, undefined, true) };
  };

  const getNoteRoute = (req: RecordedRequest, id: string): EmulatorResponse => {
    const note = notes.get(id);
    if (!note) return notFound();
    const body = view(note, undefined, true);
    if (queryValues(req.query, 'associations').includes('contacts') && note.contactIds.length > 0) {
      body['associations'] = {
        contacts: { results: note.contactIds.map((contactId) => ({ id: contactId, type: 'note_to_contact' })) },
      };
    }
    return { status: 200, headers: { ...JSON_HEADERS }, body };
  };

  const route = (req: RecordedRequest): { scope: string; run: () => EmulatorResponse } | undefined => {
    const contactsPrefix = '/crm/v3/objects/contacts';
    const notesPrefix = '/crm/v3/objects/notes';
    const { method, path } = req;
    if (path === contactsPrefix && method === 'POST') return { scope: WRITE, run: () => createContactRoute(req) };
    if (path === `${contactsPrefix}/search` && method === 'POST') return { scope: READ, run: () => searchRoute(req) };
    if (path === `${contactsPrefix}/batch/upsert` && method === 'POST' && options.batchUpsert !== false) return { scope: WRITE, run: () => batchUpsertRoute(req) };
    if (path === notesPrefix && method === 'POST') return { scope: WRITE, run: () => createNoteRoute(req) };
    const contactMatch = path.startsWith(`${contactsPrefix}/`) ? decodeURIComponent(path.slice(contactsPrefix.length + 1)) : undefined;
    if (contactMatch !== undefined && !contactMatch.includes('/')) {
      if (method === 'GET') return { scope: READ, run: () => getContactRoute(req, contactMatch) };
      if (method === 'PATCH') return { scope: WRITE, run: () => updateContactRoute(req, contactMatch) };
      if (method === 'DELETE') {
        return {
          scope: WRITE,
          run: () => {
            const contact = findContact(req, contactMatch);
            if (contact) contacts.delete(contact.id);
            return { status: 204 };
          },
        };
      }
    }
    const noteMatch = path.startsWith(`${notesPrefix}/`) ? path.slice(notesPrefix.length + 1) : undefined;
    if (noteMatch !== undefined && !noteMatch.includes('/') && method === 'GET') {
      return { scope: READ, run: () => getNoteRoute(req, noteMatch) };
    }
    return undefined;
  };

  const rateHeaders = (remaining: number): Record<string, string> => ({
    'X-HubSpot-RateLimit-Interval-Milliseconds': String(rateInterval),
    'X-HubSpot-RateLimit-Max': String(rateMax),
    'X-HubSpot-RateLimit-Remaining': String(Math.max(0, remaining)),
  });

  const handler = (req: RecordedRequest): EmulatorResponse => {
    const authorization = req.headers['authorization'];
    if (!authorization) {
      return hubspotError(
        401,
        'INVALID_AUTHENTICATION',
        'Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more ' +
          'details at https://developers.hubspot.com/docs/methods/auth/oauth-overview',
      );
    }
    if (authorization !== `Bearer ${accessToken}`) {
      return hubspotError(401, 'INVALID_AUTHENTICATION', 'The access token provided is invalid or has expired.');
    }

    const at = Date.now();
    while (callTimes.length > 0 && (callTimes[0] ?? 0) <= at - rateInterval) callTimes.shift();
    if (options.rateLimit && callTimes.length >= rateMax) {
      return { status: 429, headers: { ...JSON_HEADERS, ...rateHeaders(0) }, body: rateLimitBody() };
    }
    callTimes.push(at);
    const headers = rateHeaders(rateMax - callTimes.length);

    const matched = route(req);
    let response: EmulatorResponse;
    if (!matched) {
      response = notFound(`No route for ${req.method} ${req.path}`);
    } else if (options.scopes && !options.scopes.includes(matched.scope)) {
      response = hubspotError(
        403,
        'MISSING_SCOPES',
        "This app hasn't been granted all required scopes to make this call. Read more about required scopes here: " +
          'https://developers.hubspot.com/scopes.',
        {
          errors: [{ message: 'One or more of the following scopes are required.', context: { requiredGranularScopes: [matched.scope] } }],
          links: { scopes: 'https://developers.hubspot.com/scopes' },
        },
      );
    } else {
      response = matched.run();
    }
    return { ...response, headers: { ...headers, ...response.headers } };
  };

  const core = await startEmulator({
    name: 'hubspot',
    handler,
    failureResponse: (failure: ScriptedFailure) => ({
      status: failure.status,
      headers: { ...JSON_HEADERS, ...(failure.status === 429 ? rateHeaders(0) : {}) },
      body: failureBody(failure.status),
    }),
  });

  return {
    ...core,
    basePath: core.origin,
    accessToken,
    contacts,
    notes,
    contactByEmail,
    notesForContact: (contactId) => [...notes.values()].filter((note) => note.contactIds.includes(contactId)),
    seedContact(properties) {
      return createContact({ ...properties });
    },
    reset() {
      core.reset();
      contacts.clear();
      notes.clear();
      callTimes.length = 0;
    },
  };
}
