import type { Config } from '../config/schema.ts';

/**
 * One redactor for every configured secret value, applied wherever text may carry one: each log
 * line as written, and run errors and attempt records before they are stored (so the admin API,
 * the CLI and the console show them redacted too). It replaces values, wherever they appear — in
 * a URL's query string, a header, an error message — where pino's path redaction only knows fields.
 */
export interface Redactor {
  /** The text with every secret value replaced by `[redacted]`. */
  text(value: string): string;
  /** A JSON value (a record, a request) with every secret value in its strings replaced. */
  value<T>(value: T): T;
}

export interface Secret {
  /** Where it is configured, e.g. `connections.openai.api_key`, `env.ZENDESK_TOKEN`. */
  name: string;
  value: string;
}

/**
 * Values shorter than this are not redacted: a 4-character value ("true", "prod") would censor
 * ordinary words all over the logs. `tooShort` names the configured secrets left out.
 */
export const minSecretLength = 8;
export const censor = '[redacted]';

export function createRedactor(secrets: readonly Secret[]): Redactor & { tooShort: string[] } {
  const tooShort = secrets.filter((s) => s.value.length > 0 && s.value.length < minSecretLength).map((s) => s.name);
  const needles = new Set<string>();
  for (const { value } of secrets) {
    if (value.length < minSecretLength) continue;
    // As written, inside a JSON string (a log line, a stored record), and URL-encoded (a query string).
    for (const form of [value, JSON.stringify(value).slice(1, -1), encodeURIComponent(value), new URLSearchParams({ v: value }).toString().slice(2)]) {
      needles.add(form);
    }
  }
  if (needles.size === 0) return { text: (v) => v, value: (v) => v, tooShort };
  // Longest first, so a secret that contains another is replaced whole.
  const pattern = new RegExp([...needles].sort((a, b) => b.length - a.length).map(escapeRegExp).join('|'), 'g');
  const text = (v: string) => v.replace(pattern, censor);
  const value = <T>(v: T): T => {
    if (v === undefined || v === null) return v;
    if (typeof v === 'string') return text(v) as T;
    if (typeof v !== 'object') return v;
    try {
      // Secrets are replaced in their JSON-escaped form, so the JSON stays valid.
      return JSON.parse(text(JSON.stringify(v))) as T;
    } catch {
      return walk(v, text) as T;
    }
  };
  return { text, value, tooShort };
}

function walk(v: unknown, text: (s: string) => string): unknown {
  if (typeof v === 'string') return text(v);
  if (Array.isArray(v)) return v.map((item) => walk(item, text));
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, item]) => [k, walk(item, text)]));
  return v;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** Connection settings that hold a credential, in any connection that has them. */
const credentialKeys = new Set(['webhook_url', 'access_token', 'routing_key', 'api_key', 'token', 'password', 'secret']);

/**
 * Every secret value of a configuration: source secrets (configured or generated), connection
 * credentials, the admin token, the store URL's password, and the values of the allow-listed `env`
 * variables. All of `env`, not only names that look like credentials: the allow-list exists to hand
 * recipes what is not in the config, above all API keys, and a name says nothing sure
 * (`ZENDESK=…`). Redacting a value that was not secret only hides what the operator set himself.
 */
export function configSecrets(config: Config, sourceSecrets: Record<string, readonly string[]>, env: Record<string, string>): Secret[] {
  const secrets: Secret[] = [];
  const add = (name: string, value: unknown) => {
    if (typeof value === 'string' && value !== '') secrets.push({ name, value });
  };
  for (const [source, values] of Object.entries(sourceSecrets)) values.forEach((v, i) => add(`sources.${source}.secrets[${i}]`, v));
  for (const [source, settings] of Object.entries(config.sources)) {
    ((settings as { secrets?: string[] }).secrets ?? []).forEach((v, i) => add(`sources.${source}.secrets[${i}]`, v));
  }
  for (const [connection, settings] of Object.entries(config.connections)) {
    for (const [key, value] of Object.entries(settings as Record<string, unknown>)) {
      if (!credentialKeys.has(key)) continue;
      add(`connections.${connection}.${key}`, value);
      // A webhook URL's secret is its path: it may be logged without the host.
      const path = typeof value === 'string' && URL.canParse(value) ? new URL(value).pathname : '';
      if (path.length >= minSecretLength) add(`connections.${connection}.${key} (path)`, path);
    }
  }
  add('admin.token', config.admin.token);
  for (const password of urlPasswords(config.store.url)) add('store.url password', password);
  for (const [name, value] of Object.entries(env)) add(`env.${name}`, value);
  return secrets;
}

/** The password of a connection URL, as written (percent-encoded) and decoded; also `?password=`. */
function urlPasswords(url: string): string[] {
  if (!URL.canParse(url)) return [];
  const u = new URL(url);
  const found = [u.password, safeDecode(u.password), u.searchParams.get('password') ?? ''];
  return [...new Set(found.filter((p) => p !== ''))];
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** A connection URL fit for logs: the password (in the user part or a `password` parameter) replaced. */
export function redactUrl(url: string): string {
  if (!URL.canParse(url)) return url;
  const u = new URL(url);
  if (!u.password && !u.searchParams.has('password')) return url;
  if (u.password) u.password = '***';
  if (u.searchParams.has('password')) u.searchParams.set('password', '***');
  return u.toString();
}
