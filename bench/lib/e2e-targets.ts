// The systems the end-to-end benchmark compares, behind one shape: start one (fresh: its own
// queue, database or folder) with a destination, send to its URL, read its processes' costs, stop
// it. Every scenario runs the same way on every target.
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { cpuOfGroup, cpuSeconds, pidsByTitle } from './proc.ts';
import { existingRedis, ownRedis, type Redis } from './redis.ts';
import { startServer } from './spawn.ts';
import { hookline, SECRET, sql } from './targets.ts';

export interface Running {
  /** Where to POST signed muro events: `${url}/muro/webhook`. */
  url: string;
  /** The node process that receives and delivers. */
  pid: number;
  /** Rejects if that process dies before `stop()`. */
  died: Promise<never>;
  /** CPU seconds so far of the store's own processes (Redis, or this database's PostgreSQL backends); absent when the store is in-process. */
  storeCpu?: () => number;
  stop(): Promise<void>;
}

export interface Target {
  name: string;
  /** `destination` gets each event as a POST of `{ id, sent_at }`. */
  start(destination: string): Promise<Running>;
}

/**
 * The retry schedule both sides use: five retries after 1, 2, 4, 8, 16 s (±20 %), six attempts.
 * BullMQ's exponential backoff with `delay: 1000` is the same schedule (its jitter only shortens).
 */
const retry = 'retry: { schedule: [1s, 2s, 4s, 8s, 16s], jitter: 0.2 }\n';

const recipe = (destination: string) => `name: forward
on: muro/message.created
steps:
  - id: deliver
    http:
      url: "${destination}"
      body: { id: "{{ id }}", sent_at: "{{ data.sent_at }}" }
`;

const peerServer = fileURLToPath(new URL('../servers/bullmq-peer.ts', import.meta.url));

/** express 5 + BullMQ 6 (bench/servers/bullmq-peer.ts) on a Redis; its keys are deleted at stop. */
function peer(name: string, redisOf: () => Promise<Redis>): Target {
  return {
    name,
    start: async (destination) => {
      const redis = await redisOf();
      const queue = `hl-bench-${process.pid}-${randomBytes(4).toString('hex')}`;
      const cleanUp = async () => {
        await redis.dropQueue(queue).catch((err: Error) => console.error(`could not delete the keys of queue ${queue}: ${err.message}`));
        await redis.stop();
      };
      try {
        const server = await startServer([peerServer], { env: { MURO_WEBHOOK_SECRET: SECRET, TARGET_URL: destination, REDIS_URL: redis.url, QUEUE: queue } });
        return {
          url: server.url,
          pid: server.proc.pid!,
          died: server.died,
          storeCpu: () => cpuSeconds(redis.pid) ?? NaN,
          stop: async () => {
            await server.stop();
            await cleanUp();
          },
        };
      } catch (err) {
        await cleanUp();
        throw err;
      }
    },
  };
}

export const peerInMemory = (url = 'redis://127.0.0.1:6379') => peer('peer: express 5 + BullMQ 6, Redis in-memory', () => existingRedis(url));
export const peerAof = () => peer('peer: express 5 + BullMQ 6, Redis AOF everysec', ownRedis);

export const hooklineSqlite = (): Target => ({
  name: 'hookline, SQLite',
  start: async (destination) => {
    const server = await hookline(retry, [], { recipes: { 'forward.yaml': recipe(destination) } });
    return { url: server.url, pid: server.proc.pid!, died: server.died, stop: server.stop };
  },
});

/** hookline on a fresh PostgreSQL database (created from `url`'s, dropped at stop). */
export const hooklinePostgres = (url: string): Target => ({
  name: 'hookline, PostgreSQL',
  start: async (destination) => {
    const database = `hl_bench_e2e_${process.pid}_${randomBytes(3).toString('hex')}`;
    await sql(url, `CREATE DATABASE ${database}`).catch((err: Error) => {
      throw new Error(`cannot create a database on ${url} (${err.message}); set BENCH_PG_URL to a PostgreSQL that can`);
    });
    const storeUrl = new URL(url);
    storeUrl.pathname = `/${database}`;
    // This database's backends set their title to "postgres: … <user> <database> <host> <state>".
    const backends = cpuOfGroup(() => pidsByTitle(new RegExp(` ${database} `)));
    const drop = async () => {
      backends.stop();
      await sql(url, `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch((err: Error) => console.error(`could not drop database ${database}: ${err.message}`));
    };
    try {
      const server = await hookline(retry, [], { storeUrl: storeUrl.toString(), recipes: { 'forward.yaml': recipe(destination) } });
      return {
        url: server.url,
        pid: server.proc.pid!,
        died: server.died,
        storeCpu: backends.seconds,
        stop: async () => {
          await server.stop();
          await drop();
        },
      };
    } catch (err) {
      await drop();
      throw err;
    }
  },
});
