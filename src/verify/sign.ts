import { createHmac } from 'node:crypto';
import type { SourceName } from '../config/schema.ts';

/** Signs like the providers do; used by `hookline send` and the benchmark (tests compute their own vectors). */
export function signatureHeaders(source: SourceName, body: string, secret: string, timestamp: number, event: { id: string; type: string }): Record<string, string> {
  const mac = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  if (source === 'meru') return { 'content-type': 'application/json', 'meru-signature': `v1,t=${timestamp},s=${mac}` };
  return {
    'content-type': 'application/json',
    'x-muro-event': event.type,
    'x-muro-event-id': event.id,
    'x-muro-timestamp': String(timestamp),
    'x-muro-signature': `t=${timestamp},v1=${mac}`,
  };
}
