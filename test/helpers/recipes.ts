import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Hookline } from '../../src/hookline.ts';
import { MURO_SECRET } from './env.ts';
import { send } from './server.ts';
import { muroHeaders } from './sign.ts';

/** Writes recipes/<name>.yaml under `dir`. */
export function writeRecipe(dir: string, name: string, yaml: string): string {
  mkdirSync(join(dir, 'recipes'), { recursive: true });
  const file = join(dir, 'recipes', `${name}.yaml`);
  writeFileSync(file, yaml);
  return file;
}

/** Posts a signed muro event to a running hookline; the clock decides the signature timestamp. */
export async function postMuro(hl: Pick<Hookline, 'url'>, event: Record<string, unknown>, nowMs = Date.now()) {
  const body = JSON.stringify(event);
  const answer = await send(`${hl.url}/muro/webhook`, { body, headers: muroHeaders(body, MURO_SECRET, { t: Math.floor(nowMs / 1000) }) });
  if (answer.status !== 200) throw new Error(`receive failed: ${answer.status} ${answer.text}`);
  return answer.json as { ok: true; id?: string; duplicate?: true };
}

let counter = 0;
/** A muro message.created in a conversation, from a visitor or an agent. */
export function message(conversation: string, author: 'visitor' | 'agent', text: string, extra: Record<string, unknown> = {}) {
  const n = ++counter;
  return {
    id: `evt_msg_${process.pid}_${n}`,
    type: 'message.created',
    created_at: new Date().toISOString(),
    data: {
      conversation: { id: conversation, url: `https://app.muro.example/inbox/${conversation}` },
      visitor: { id: 'vis_1', name: 'Dana', email: 'dana@bigcustomer.example' },
      message: { id: `msg_${process.pid}_${n}`, author: { type: author, name: author === 'agent' ? 'Sam' : 'Dana' }, text },
      ...extra,
    },
  };
}
