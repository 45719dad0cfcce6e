import { Client, type ClientConfig } from 'pg';
import type { Wake } from '../types.ts';
import { channel, parseNotice } from './db.ts';

export interface Listener {
  close(): Promise<void>;
}

/**
 * LISTEN on a connection of its own, reconnecting (with backoff) whenever it drops. Notifications
 * sent while it was down are lost, so after every reconnect it reports both kinds of wake-up: the
 * workers then look for themselves.
 */
export function listen(config: ClientConfig, schema: string, instance: string, onWake: (what: Wake) => void): Listener {
  let client: Client | undefined;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let delay = 100;
  let connectedOnce = false;

  const connect = async () => {
    timer = undefined;
    if (closed) return;
    const c = new Client(config);
    client = c;
    let dropped = false;
    const drop = () => {
      if (dropped) return;
      dropped = true;
      c.removeAllListeners('notification');
      void c.end().catch(() => {});
      if (client === c) client = undefined;
      if (!closed) {
        timer = setTimeout(connect, delay);
        timer.unref();
        delay = Math.min(delay * 2, 5_000);
      }
    };
    c.on('error', drop);
    c.on('end', drop);
    c.on('notification', (n) => {
      const notice = parseNotice(n.payload);
      if (!notice || notice.schema !== schema || notice.instance === instance) return;
      if (notice.what === 'events' || notice.what === 'runs') onWake(notice.what);
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${channel}`);
    } catch {
      drop();
      return;
    }
    if (closed) {
      void c.end().catch(() => {});
      return;
    }
    delay = 100;
    if (connectedOnce) {
      onWake('events');
      onWake('runs');
    }
    connectedOnce = true;
  };

  void connect();
  return {
    close: async () => {
      closed = true;
      if (timer) clearTimeout(timer);
      const c = client;
      client = undefined;
      if (c) {
        c.removeAllListeners('end');
        c.removeAllListeners('error');
        c.on('error', () => {});
        await c.end().catch(() => {});
      }
    },
  };
}
