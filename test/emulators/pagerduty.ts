// Emulator of the PagerDuty Events API v2 over HTTPS: POST /v2/enqueue.
//
// @pagerduty/pdjs always calls `https://${server}/v2/enqueue` (its `server` option is
// host[:port] only, see node_modules/@pagerduty/pdjs/build/src/events.js), so this emulator
// speaks TLS with a certificate from ./certs.ts; the calling process must trust the CA.
//
// Validation follows the documented API: routing_key of 32 characters, event_action one of
// trigger/acknowledge/resolve, a trigger needs payload.summary, payload.source and
// payload.severity (critical/error/warning/info), acknowledge/resolve need dedup_key.
//   202 {"status":"success","message":"Event processed","dedup_key":"..."}
//   400 {"status":"invalid event","message":"Event object is invalid","errors":[...]}
//   429 (scripted, or `rateLimit`) — PagerDuty documents the status but no body; the emulator
//       sends a small JSON body because pdjs calls response.json() on every answer (a non-JSON
//       body makes pdjs reject without the status: script one with failNext({status, body:''})).
// Incidents are kept by dedup_key: a trigger opens one (or is deduplicated into the open one),
// acknowledge/resolve change it; after a resolve the same dedup_key opens a new incident.
import { randomUUID } from 'node:crypto';
import { startEmulator } from './emulator.ts';
import type { Emulator, EmulatorResponse, RecordedRequest, ScriptedFailure, TlsOptions } from './emulator.ts';

export type PagerDutyAction = 'trigger' | 'acknowledge' | 'resolve';
export type PagerDutySeverity = 'critical' | 'error' | 'warning' | 'info';

export interface PagerDutyEmulatorOptions {
  /** Key and certificate to serve (from createTestCertificates / sharedTestCertificates); plain HTTP without. */
  tls?: TlsOptions;
  /** Answer 429 when more than `max` events arrive within `intervalMs`. */
  rateLimit?: { max: number; intervalMs?: number };
}

export interface PagerDutyEvent {
  action: PagerDutyAction;
  routingKey: string;
  dedupKey: string;
  body: Record<string, unknown>;
  time: number;
}

export interface PagerDutyIncident {
  dedupKey: string;
  routingKey: string;
  status: 'triggered' | 'acknowledged' | 'resolved';
  summary: string;
  source: string;
  severity: PagerDutySeverity;
  triggerCount: number;
  acknowledgeCount: number;
  resolveCount: number;
  /** The accepted events that touched this incident, in order. */
  events: PagerDutyEvent[];
}

export interface PagerDutyEmulator extends Emulator {
  /** Give this to pdjs as `server` (host:port, no scheme). */
  readonly server: string;
  /** A valid 32-character routing key to use in tests (any 32-character key is accepted). */
  readonly routingKey: string;
  /** Every incident ever opened, in order (a re-trigger after resolve opens a new one). */
  readonly incidents: PagerDutyIncident[];
  /** Every accepted (202) event, in order, including acknowledge/resolve that matched nothing. */
  readonly events: PagerDutyEvent[];
  /** The latest incident for a dedup key. */
  incident(dedupKey: string): PagerDutyIncident | undefined;
}

const ACTIONS: readonly string[] = ['trigger', 'acknowledge', 'resolve'];
const SEVERITIES: readonly string[] = ['critical', 'error', 'warning', 'info'];
const JSON_HEADERS = { 'Content-Type': 'application/json' };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function blank(value: unknown): boolean {
  return value === undefined || value === null || (typeof value === 'string' && value.trim() === '');
}

function invalidEvent(errors: string[]): EmulatorResponse {
  return { status: 400, headers: { ...JSON_HEADERS }, body: { status: 'invalid event', message: 'Event object is invalid', errors } };
}

const throttled = (): EmulatorResponse => ({
  status: 429,
  headers: { ...JSON_HEADERS },
  body: { status: 'throttle event', message: 'Requests for this service are arriving too quickly. Please retry later.' },
});

function failureResponse(failure: ScriptedFailure): EmulatorResponse {
  if (failure.status === 429) return throttled();
  if (failure.status === 400) return invalidEvent(['Event object is invalid']);
  return {
    status: failure.status,
    headers: { ...JSON_HEADERS },
    body: { status: 'error', message: failure.status >= 500 ? 'Internal Server Error' : 'Request rejected' },
  };
}

/** The documented checks, all errors at once like the real API. */
export function validateEvent(body: unknown): string[] {
  if (!isRecord(body)) return ["Event object is not a JSON object"];
  const errors: string[] = [];
  const routingKey = body['routing_key'];
  if (blank(routingKey)) errors.push("'routing_key' is missing or blank");
  else if (typeof routingKey !== 'string' || routingKey.length !== 32) {
    errors.push("Length of 'routing_key' is incorrect (should be 32 characters)");
  }
  const action = body['event_action'];
  if (blank(action)) errors.push("'event_action' is missing or blank");
  else if (typeof action !== 'string' || !ACTIONS.includes(action)) {
    errors.push("'event_action' is invalid (must be one of the following: 'trigger', 'acknowledge' or 'resolve')");
  }
  const dedupKey = body['dedup_key'];
  if (dedupKey !== undefined && dedupKey !== null && (typeof dedupKey !== 'string' || dedupKey.length > 255)) {
    errors.push("'dedup_key' must be a string of at most 255 characters");
  }
  if ((action === 'acknowledge' || action === 'resolve') && blank(dedupKey)) {
    errors.push("'dedup_key' is missing or blank");
  }
  if (action === 'trigger') {
    const payload = body['payload'];
    if (!isRecord(payload)) {
      errors.push("'payload' is missing or blank");
    } else {
      if (blank(payload['summary'])) errors.push("'payload.summary' is missing or blank");
      if (blank(payload['source'])) errors.push("'payload.source' is missing or blank");
      const severity = payload['severity'];
      if (blank(severity)) errors.push("'payload.severity' is missing or blank");
      else if (typeof severity !== 'string' || !SEVERITIES.includes(severity)) {
        errors.push("'payload.severity' is invalid (must be one of the following: 'critical', 'warning', 'error' or 'info')");
      }
      const timestamp = payload['timestamp'];
      if (!blank(timestamp) && (typeof timestamp !== 'string' || Number.isNaN(Date.parse(timestamp)))) {
        errors.push("'payload.timestamp' is invalid (must be an ISO 8601 timestamp)");
      }
    }
  }
  return errors;
}

export async function startPagerDutyEmulator(options: PagerDutyEmulatorOptions): Promise<PagerDutyEmulator> {
  const incidents: PagerDutyIncident[] = [];
  const events: PagerDutyEvent[] = [];
  const eventTimes: number[] = [];

  const incident = (dedupKey: string): PagerDutyIncident | undefined =>
    incidents.findLast((candidate) => candidate.dedupKey === dedupKey);

  const enqueue = (req: RecordedRequest): EmulatorResponse => {
    if (options.rateLimit) {
      const interval = options.rateLimit.intervalMs ?? 60_000;
      while (eventTimes.length > 0 && (eventTimes[0] ?? 0) <= req.time - interval) eventTimes.shift();
      if (eventTimes.length >= options.rateLimit.max) return throttled();
      eventTimes.push(req.time);
    }
    if (req.bodyParseError) return invalidEvent(['Malformed JSON']);
    const errors = validateEvent(req.body);
    if (errors.length > 0) return invalidEvent(errors);

    const body = req.body as Record<string, unknown>;
    const action = body['event_action'] as PagerDutyAction;
    const dedupKey = blank(body['dedup_key']) ? randomUUID().replaceAll('-', '') : String(body['dedup_key']);
    const event: PagerDutyEvent = { action, routingKey: String(body['routing_key']), dedupKey, body, time: req.time };
    events.push(event);

    const current = incident(dedupKey);
    const open = current && current.status !== 'resolved' ? current : undefined;
    if (action === 'trigger') {
      if (open) {
        open.triggerCount += 1;
        open.events.push(event);
      } else {
        const payload = body['payload'] as Record<string, unknown>;
        incidents.push({
          dedupKey,
          routingKey: event.routingKey,
          status: 'triggered',
          summary: String(payload['summary']),
          source: String(payload['source']),
          severity: payload['severity'] as PagerDutySeverity,
          triggerCount: 1,
          acknowledgeCount: 0,
          resolveCount: 0,
          events: [event],
        });
      }
    } else if (open) {
      // acknowledge/resolve with no open incident are accepted and change nothing.
      open.events.push(event);
      if (action === 'acknowledge') {
        open.acknowledgeCount += 1;
        open.status = 'acknowledged';
      } else {
        open.resolveCount += 1;
        open.status = 'resolved';
      }
    }
    return { status: 202, headers: { ...JSON_HEADERS }, body: { status: 'success', message: 'Event processed', dedup_key: dedupKey } };
  };

  const handler = (req: RecordedRequest): EmulatorResponse => {
    if (req.path !== '/v2/enqueue') {
      return { status: 404, headers: { ...JSON_HEADERS }, body: { status: 'error', message: 'Not Found' } };
    }
    if (req.method !== 'POST') {
      return { status: 405, headers: { ...JSON_HEADERS, Allow: 'POST' }, body: { status: 'error', message: 'Method Not Allowed' } };
    }
    return enqueue(req);
  };

  const core = await startEmulator({ name: 'pagerduty', handler, failureResponse, ...(options.tls ? { tls: options.tls } : {}) });

  return {
    ...core,
    server: `${core.host}:${core.port}`,
    routingKey: 'R0EMULATOR0ROUTING0KEY0000000032',
    incidents,
    events,
    incident,
    reset() {
      core.reset();
      incidents.length = 0;
      events.length = 0;
      eventTimes.length = 0;
    },
  };
}
