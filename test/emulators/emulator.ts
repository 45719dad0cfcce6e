// Shared core of the API emulators: an HTTP(S) server on 127.0.0.1 and an ephemeral
// port that records every request, can be scripted to fail, and lets a test wait for a
// number of successfully handled requests without polling.
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';

export type Query = Record<string, string | string[]>;

export interface RecordedRequest {
  method: string;
  /** Path without the query string, e.g. `/crm/v3/objects/contacts/12`. */
  path: string;
  query: Query;
  /** Node's lower-cased request headers. */
  headers: http.IncomingHttpHeaders;
  /** The body as received (utf-8). */
  rawBody: string;
  /** The body parsed as JSON (or as a Slack-style `payload=` form); undefined if absent or unparsable. */
  body: unknown;
  /** True when a non-empty body could not be parsed. */
  bodyParseError: boolean;
  /** Milliseconds since the epoch when the request arrived. */
  time: number;
  /** Status the emulator answered with; 0 while pending or when the socket was destroyed. */
  status: number;
}

export interface EmulatorResponse {
  status: number;
  headers?: Record<string, string | number>;
  /** A string is sent as is; anything else is sent as JSON. Undefined sends no body. */
  body?: unknown;
}

/** One scripted failure, consumed by the next request whatever it is. */
export interface ScriptedFailure {
  status: number;
  /** Seconds; sets the `Retry-After` header. */
  retryAfter?: number;
  /** Replaces the API-specific default error body (string as is, anything else as JSON). */
  body?: unknown;
  headers?: Record<string, string | number>;
}

export type DownMode = 'status' | 'destroy';

export type RequestHandler = (req: RecordedRequest) => EmulatorResponse | Promise<EmulatorResponse>;
/** Builds the API's own error response for a scripted failure (or for `setDown`, status 503). */
export type FailureResponder = (failure: ScriptedFailure, req: RecordedRequest) => EmulatorResponse;

export interface TlsOptions {
  key: string | Buffer;
  cert: string | Buffer;
}

export interface StartEmulatorOptions {
  /** Used in error messages only. */
  name: string;
  handler: RequestHandler;
  failureResponse: FailureResponder;
  /** Serve HTTPS with this key and certificate instead of HTTP. */
  tls?: TlsOptions;
}

export interface Emulator {
  /** `http://127.0.0.1:<port>` or `https://127.0.0.1:<port>`, without a trailing slash. */
  readonly origin: string;
  readonly host: string;
  readonly port: number;
  /** Every request received, in order, including failed ones. */
  readonly requests: RecordedRequest[];
  /** The requests answered with a 2xx status, in order. */
  readonly delivered: RecordedRequest[];
  /** Queue failures; each request consumes one, in order. A number is shorthand for `{ status }`. */
  failNext(...failures: Array<ScriptedFailure | number>): void;
  /** Number of scripted failures not consumed yet. */
  pendingFailures(): number;
  /** While down, answer 503 to everything, or (mode 'destroy') destroy the socket unanswered. */
  setDown(down: boolean, mode?: DownMode): void;
  /** Resolves once `count` requests have been answered with a 2xx status. */
  waitFor(count: number, timeoutMs?: number): Promise<RecordedRequest[]>;
  /** Resolves once `count` requests have been received and answered (any status). */
  waitForRequests(count: number, timeoutMs?: number): Promise<RecordedRequest[]>;
  /** Forget requests, scripted failures and the down state. */
  reset(): void;
  close(): Promise<void>;
}

interface Waiter {
  list: RecordedRequest[];
  count: number;
  resolve: (value: RecordedRequest[]) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

const DEFAULT_WAIT_MS = 5_000;

export function parseQuery(search: URLSearchParams): Query {
  const query: Query = {};
  for (const key of new Set(search.keys())) {
    const values = search.getAll(key);
    query[key] = values.length === 1 ? (values[0] ?? '') : values;
  }
  return query;
}

/** First value of a query parameter. */
export function queryValue(query: Query, key: string): string | undefined {
  const value = query[key];
  return Array.isArray(value) ? value[0] : value;
}

/** All values of a query parameter (`?a=1&a=2` and `?a=1,2` both give ['1', '2']). */
export function queryValues(query: Query, key: string): string[] {
  const value = query[key];
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).flatMap((v) => v.split(',')).filter((v) => v !== '');
}

function parseBody(raw: string, contentType: string | undefined): { body: unknown; error: boolean } {
  if (raw === '') return { body: undefined, error: false };
  if (contentType?.includes('application/x-www-form-urlencoded')) {
    const form = new URLSearchParams(raw);
    const payload = form.get('payload');
    if (payload === null) return { body: Object.fromEntries(form), error: false };
    raw = payload;
  }
  try {
    return { body: JSON.parse(raw) as unknown, error: false };
  } catch {
    return { body: undefined, error: true };
  }
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: http.ServerResponse, response: EmulatorResponse): void {
  const headers: Record<string, string | number> = { ...response.headers };
  let payload: string | undefined;
  if (typeof response.body === 'string') {
    payload = response.body;
  } else if (response.body !== undefined) {
    payload = JSON.stringify(response.body);
    if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
      headers['Content-Type'] = 'application/json; charset=utf-8';
    }
  }
  if (payload !== undefined) headers['Content-Length'] = Buffer.byteLength(payload);
  res.writeHead(response.status, headers);
  res.end(payload);
}

export async function startEmulator(options: StartEmulatorOptions): Promise<Emulator> {
  const requests: RecordedRequest[] = [];
  const delivered: RecordedRequest[] = [];
  // Requests whose answer (or destroyed socket) is complete: what waitForRequests counts.
  const answered: RecordedRequest[] = [];
  const failures: ScriptedFailure[] = [];
  const waiters = new Set<Waiter>();
  let down: DownMode | undefined;

  const settleWaiters = (): void => {
    for (const waiter of waiters) {
      if (waiter.list.length >= waiter.count) {
        clearTimeout(waiter.timer);
        waiters.delete(waiter);
        waiter.resolve(waiter.list.slice(0, waiter.count));
      }
    }
  };

  const failureWithHeaders = (failure: ScriptedFailure, req: RecordedRequest): EmulatorResponse => {
    const response = options.failureResponse(failure, req);
    const headers = { ...response.headers, ...failure.headers };
    if (failure.retryAfter !== undefined) headers['Retry-After'] = String(failure.retryAfter);
    return {
      status: failure.status,
      headers,
      body: failure.body !== undefined ? failure.body : response.body,
    };
  };

  const onRequest = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const rawBody = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://emulator.invalid');
    const parsed = parseBody(rawBody, req.headers['content-type']);
    const recorded: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: parseQuery(url.searchParams),
      headers: req.headers,
      rawBody,
      body: parsed.body,
      bodyParseError: parsed.error,
      time: Date.now(),
      status: 0,
    };
    requests.push(recorded);

    if (down === 'destroy') {
      req.socket.destroy();
      answered.push(recorded);
      settleWaiters();
      return;
    }

    let response: EmulatorResponse;
    const failure = down === 'status' ? { status: 503 } : failures.shift();
    if (failure) {
      response = failureWithHeaders(failure, recorded);
    } else {
      try {
        response = await options.handler(recorded);
      } catch (error) {
        response = { status: 500, body: `${options.name} emulator crashed: ${String(error)}` };
      }
    }
    recorded.status = response.status;
    send(res, response);
    if (response.status >= 200 && response.status < 300) delivered.push(recorded);
    answered.push(recorded);
    settleWaiters();
  };

  const listener = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    onRequest(req, res).catch((error: unknown) => {
      if (!res.headersSent) send(res, { status: 500, body: String(error) });
    });
  };
  const server = options.tls
    ? https.createServer({ key: options.tls.key, cert: options.tls.cert }, listener)
    : http.createServer(listener);

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = '127.0.0.1';

  const wait = (list: RecordedRequest[], count: number, timeoutMs: number, what: string): Promise<RecordedRequest[]> => {
    if (list.length >= count) return Promise.resolve(list.slice(0, count));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        list,
        count,
        resolve,
        reject,
        timer: setTimeout(() => {
          waiters.delete(waiter);
          const statuses = requests.map((r) => `${r.method} ${r.path} -> ${r.status}`).join(', ');
          reject(
            new Error(
              `${options.name} emulator: timed out after ${timeoutMs} ms waiting for ${count} ${what} ` +
                `(have ${list.length}; requests so far: [${statuses}])`,
            ),
          );
        }, timeoutMs),
      };
      waiters.add(waiter);
    });
  };

  return {
    origin: `${options.tls ? 'https' : 'http'}://${host}:${port}`,
    host,
    port,
    requests,
    delivered,
    failNext(...entries) {
      for (const entry of entries) failures.push(typeof entry === 'number' ? { status: entry } : entry);
    },
    pendingFailures: () => failures.length,
    setDown(value, mode = 'status') {
      down = value ? mode : undefined;
    },
    waitFor: (count, timeoutMs = DEFAULT_WAIT_MS) => wait(delivered, count, timeoutMs, 'delivered requests'),
    waitForRequests: (count, timeoutMs = DEFAULT_WAIT_MS) =>
      wait(answered, count, timeoutMs, 'answered requests'),
    reset() {
      requests.length = 0;
      delivered.length = 0;
      answered.length = 0;
      failures.length = 0;
      down = undefined;
    },
    close() {
      for (const waiter of waiters) {
        clearTimeout(waiter.timer);
        waiter.reject(new Error(`${options.name} emulator closed`));
      }
      waiters.clear();
      return new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}
