import { request, type Agent } from 'node:http';
import type { ConfigInput } from '../../src/config/schema.ts';
import { startHookline, type Hookline, type HooklineOptions } from '../../src/hookline.ts';
import type { Logger } from '../../src/observability/logger.ts';
import type { Clock } from '../../src/util/clock.ts';
import { sqlite, type Backend, type FreshStore } from './backends.ts';
import { tempDir, testConfig } from './env.ts';

type Overrides = Parameters<typeof testConfig>[1];

export interface TestHookline extends Hookline {
  dir: string;
  /** The store it runs on, for checks behind its back. */
  db: FreshStore;
  stop(): Promise<void>;
}

/** A real hookline on a real socket and a fresh store (a SQLite file in a temp folder by default). */
export async function startTestHookline(
  options: { overrides?: Overrides; clock?: Clock; logger?: Logger; dir?: string; backend?: Backend; worker?: boolean; actions?: HooklineOptions['actions'] } = {},
): Promise<TestHookline> {
  const temp = options.dir ? { dir: options.dir, cleanup: () => {} } : tempDir();
  const db = await (options.backend ?? sqlite).fresh(temp.dir);
  const config = testConfig(temp.dir, { ...(options.overrides as object), store: { ...(options.overrides?.store as object), url: db.url } } as Overrides);
  let hookline: Hookline;
  try {
    hookline = await startHookline({
      config,
      ...(options.clock && { clock: options.clock }),
      ...(options.logger && { logger: options.logger }),
      ...(options.worker !== undefined && { worker: options.worker }),
      ...(options.actions && { actions: options.actions }),
    });
  } catch (error) {
    await db.drop();
    temp.cleanup();
    throw error;
  }
  return {
    ...hookline,
    dir: temp.dir,
    db,
    stop: async () => {
      await hookline.close();
      await db.drop();
      temp.cleanup();
    },
  };
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

/** A plain node:http request: exact bytes in, exact status out (fetch would normalise too much). */
export function send(url: string, options: { method?: string; body?: string | Buffer; headers?: Record<string, string>; agent?: Agent } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = request(url, { method: options.method ?? 'POST', headers: options.headers, agent: options.agent ?? false }, (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    // A server may answer (413) and close before a large body is fully written: the answer counts.
    req.on('error', (error) => {
      if (!answered) reject(error);
    });
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

export type { ConfigInput };
