/**
 * The error types that decide behaviour, and the catalogue of receive-path error codes
 * with their HTTP status. Messages say what was wrong and, where possible, what to do.
 */

/** A webhook that failed signature or timestamp verification: always answered 401. */
export class VerificationError extends Error {
  readonly code: 'HL_SIGNATURE_MISSING' | 'HL_SIGNATURE_MALFORMED' | 'HL_SIGNATURE_MISMATCH' | 'HL_TIMESTAMP_STALE';
  constructor(code: VerificationError['code'], message: string) {
    super(message);
    this.name = 'VerificationError';
    this.code = code;
  }
}

/** A config or recipe file that cannot be used; `diagnostics` holds every problem found. */
export class ConfigError extends Error {
  readonly diagnostics: Diagnostic[];
  constructor(diagnostics: Diagnostic[]) {
    super(diagnostics.map(formatDiagnostic).join('\n'));
    this.name = 'ConfigError';
    this.diagnostics = diagnostics;
  }
}

export interface Diagnostic {
  file: string;
  line: number;
  col: number;
  message: string;
}

export function formatDiagnostic(d: Diagnostic): string {
  return `${d.file}:${d.line}:${d.col}: ${d.message}`;
}

/** An action failure that retrying cannot fix (4xx other than 429, a bad template, bad credentials). */
export class NonRetryableError extends Error {
  readonly status: number | undefined;
  constructor(message: string, options: { status?: number; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'NonRetryableError';
    this.status = options.status;
  }
}

/** An action failure worth retrying (network, timeout, 5xx, 429); `retryAfterMs` honours the server. */
export class RetryableError extends Error {
  readonly status: number | undefined;
  readonly retryAfterMs: number | undefined;
  constructor(message: string, options: { status?: number; retryAfterMs?: number; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'RetryableError';
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** The store could not durably write: the receiver answers 503 so that the sender retries. */
export class StoreUnavailableError extends Error {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'StoreUnavailableError';
  }
}

/** Every error the receiving path answers with, and its status. Kept in sync with the README by a test. */
export const receiveErrors = {
  HL_SIGNATURE_MISSING: { status: 401, message: 'signature header missing' },
  HL_SIGNATURE_MALFORMED: { status: 401, message: 'signature header malformed' },
  HL_SIGNATURE_MISMATCH: { status: 401, message: 'signature does not match any configured secret' },
  HL_TIMESTAMP_STALE: { status: 401, message: 'signature timestamp outside the tolerance' },
  HL_BODY_NOT_JSON: { status: 400, message: 'body is not a JSON object' },
  HL_BODY_NOT_UTF8: { status: 400, message: 'body is not valid UTF-8' },
  HL_EVENT_ID_MISSING: { status: 400, message: 'event id missing' },
  HL_EVENT_ID_INVALID: { status: 400, message: 'event id must be a string (or number) of at most 256 characters, without control characters' },
  HL_EVENT_TYPE_INVALID: { status: 400, message: 'event type must be a string of at most 256 characters, without control characters' },
  HL_EVENT_MALFORMED: { status: 400, message: "body does not follow the source's format" },
  HL_BODY_TIMEOUT: { status: 408, message: 'body did not arrive within server.read_timeout' },
  HL_BODY_TOO_LARGE: { status: 413, message: 'body larger than server.body_limit' },
  HL_BODY_BUDGET_EXHAUSTED: { status: 503, message: 'too many request bodies being read at once (server.body_budget); retry later' },
  HL_STORE_UNAVAILABLE: { status: 503, message: 'store cannot write; retry later' },
  HL_NOT_FOUND: { status: 404, message: 'no such endpoint' },
  HL_METHOD_NOT_ALLOWED: { status: 405, message: 'method not allowed' },
  HL_BAD_REQUEST: { status: 400, message: 'malformed request' },
} as const;

export type ReceiveErrorCode = keyof typeof receiveErrors;

/**
 * A request the receiving path refuses with one of its codes (a body too slow or over the budget,
 * an id that is not printable ...). `statusCode` is what HTTP frameworks read.
 */
export class ReceiveError extends Error {
  readonly code: ReceiveErrorCode;
  readonly statusCode: number;
  constructor(code: ReceiveErrorCode, message: string = receiveErrors[code].message) {
    super(message);
    this.name = 'ReceiveError';
    this.code = code;
    this.statusCode = receiveErrors[code].status;
  }
}

/** The worker no longer holds this run (its lease expired and another worker took it over). */
export class LeaseLostError extends Error {
  constructor(runId: string) {
    super(`lease on run ${runId} was lost; another worker owns it now`);
    this.name = 'LeaseLostError';
  }
}
