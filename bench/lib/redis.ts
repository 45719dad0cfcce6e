// The Redis behind the BullMQ peer: the machine's (in-memory, shared with others: the peer's keys
// live under a queue name of the run's own and are deleted after), or a redis-server of the
// bench's own with an append-only file fsynced every second, BullMQ's recommended durable setting.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis as Client } from 'ioredis';
import { terminate, withTimeout } from './spawn.ts';

export interface Redis {
  url: string;
  /** The redis-server process, for its CPU time. */
  pid: number;
  /** Deletes BullMQ's keys of queue `name` (`bull:<name>:*`). */
  dropQueue(name: string): Promise<void>;
  stop(): Promise<void>;
}

async function connect(url: string): Promise<{ client: Client; pid: number }> {
  const client = new Client(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await withTimeout(client.connect(), 5000, `no Redis answers at ${url}`);
    const pid = Number(/process_id:(\d+)/.exec(await client.info('server'))?.[1]);
    return { client, pid };
  } catch (err) {
    client.disconnect();
    throw err;
  }
}

async function dropQueue(client: Client, name: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `bull:${name}:*`, 'COUNT', 1000);
    if (keys.length) await client.unlink(...keys);
    cursor = next;
  } while (cursor !== '0');
}

/** The Redis already running at `url` (left running; `stop` only disconnects). */
export async function existingRedis(url: string): Promise<Redis> {
  const { client, pid } = await connect(url);
  return { url, pid, dropQueue: (name) => dropQueue(client, name), stop: async () => void client.disconnect() };
}

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });

/**
 * A redis-server of its own in a fresh folder: AOF, `appendfsync everysec`; RDB snapshots off
 * (`save ""`) so that a background save does not fork in the middle of a measurement.
 */
export async function ownRedis(): Promise<Redis> {
  const dir = mkdtempSync(join(tmpdir(), 'hookline-bench-redis-'));
  const port = await freePort();
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', '', '--dir', dir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const spawned = new Promise<void>((resolve, reject) => {
    proc.once('error', (err) => reject(new Error(`cannot start redis-server (${err.message}); is it installed?`)));
    proc.once('spawn', resolve);
  });
  let output = '';
  const ready = new Promise<void>((resolve, reject) => {
    proc.stdout!.on('data', (d: Buffer) => {
      output += d;
      if (output.includes('Ready to accept connections')) resolve();
    });
    proc.stderr!.on('data', (d: Buffer) => (output += d));
    void exited.then(() => reject(new Error(`redis-server exited at start:\n${output}`)));
  });
  const stop = async () => {
    if (proc.pid) await terminate(proc, exited, 5000);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await spawned;
    await withTimeout(ready, 10_000, `redis-server on port ${port} not ready within 10 s:\n${output}`);
    const url = `redis://127.0.0.1:${port}`;
    const { client } = await connect(url);
    return {
      url,
      pid: proc.pid!,
      dropQueue: (name) => dropQueue(client, name),
      stop: async () => {
        client.disconnect();
        await stop();
      },
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
