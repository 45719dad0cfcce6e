import { createHmac } from 'node:crypto';

// Signature vectors computed the way the providers' seed documents describe, independently of src/.

export function hmacHex(secret: string, timestamp: number, body: string | Buffer): string {
  return createHmac('sha256', Buffer.from(secret, 'utf8'))
    .update(Buffer.concat([Buffer.from(`${timestamp}.`), Buffer.isBuffer(body) ? body : Buffer.from(body)]))
    .digest('hex');
}

export const nowSec = () => Math.floor(Date.now() / 1000);

export function muroHeaders(body: string | Buffer, secret: string, opts: { t?: number; id?: string; type?: string } = {}) {
  const t = opts.t ?? nowSec();
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-muro-timestamp': String(t),
    'x-muro-signature': `t=${t},v1=${hmacHex(secret, t, body)}`,
  };
  if (opts.id) headers['x-muro-event-id'] = opts.id;
  if (opts.type) headers['x-muro-event'] = opts.type;
  return headers;
}

export function meruHeaders(body: string | Buffer, secret: string, opts: { t?: number } = {}) {
  const t = opts.t ?? nowSec();
  return { 'content-type': 'application/json', 'meru-signature': `v1,t=${t},s=${hmacHex(secret, t, body)}` };
}

export function muroEvent(id: string, type = 'message.created', data: Record<string, unknown> = {}) {
  return { id, type, organization_id: 'org_test', created_at: new Date().toISOString(), data };
}
