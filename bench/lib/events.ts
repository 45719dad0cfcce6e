import { createHmac } from 'node:crypto';

let counter = 0;
const run = `${process.pid}_${Date.now().toString(36)}`;

/** A unique, correctly signed muro message.created like the fixtures (about 900 bytes). */
export function signedMuroEvent(secret: string, path = '/muro/webhook', data: (n: number) => Record<string, unknown> = defaultData) {
  const n = ++counter;
  const id = `evt_bench_${run}_${n}`;
  const body = JSON.stringify({ id, type: 'message.created', organization_id: 'org_bench', created_at: new Date().toISOString(), data: data(n) });
  const t = Math.floor(Date.now() / 1000);
  const mac = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
  return {
    path,
    body,
    headers: {
      'content-type': 'application/json',
      'x-muro-event': 'message.created',
      'x-muro-event-id': id,
      'x-muro-timestamp': String(t),
      'x-muro-signature': `t=${t},v1=${mac}`,
    },
  };
}

/**
 * The same event as a Standard Webhooks sender (Svix) posts it: the id in `webhook-id`, signed with it
 * and the timestamp, base64 MAC keyed by the decoded `whsec_` secret.
 */
export function signedStandardWebhooksEvent(secret: string, path = '/app/webhook') {
  const n = ++counter;
  const id = `msg_bench_${run}_${n}`;
  const body = JSON.stringify({ type: 'message.created', timestamp: new Date().toISOString(), data: defaultData(n) });
  const t = Math.floor(Date.now() / 1000);
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  const mac = createHmac('sha256', key).update(`${id}.${t}.${body}`).digest('base64');
  return {
    path,
    body,
    headers: { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(t), 'webhook-signature': `v1,${mac}` },
  };
}

function defaultData(n: number) {
  const conversation = `conv_bench_${n % 500}`;
  return {
    conversation: { id: conversation, status: 'open', channel: 'web', url: `https://app.muro.example/inbox/${conversation}`, assignee: null },
    visitor: { id: `vis_${n % 500}`, name: 'Bench Visitor', email: `visitor${n % 500}@bench.example`, identified: true },
    message: {
      id: `msg_${n}`,
      author: { type: 'visitor', id: `vis_${n % 500}`, name: 'Bench Visitor' },
      text: 'Hi! Our checkout page has been returning 502 errors since this morning. It affects every customer in the EU region.',
      created_at: new Date().toISOString(),
    },
  };
}
