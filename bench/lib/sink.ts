// The destination of the end-to-end benchmark, run as a child process (bench/servers/sink.ts) that
// reports each arrival over IPC: when each event was sent and when it arrived, duplicates, and the
// requests it refused while told to be down.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { withTimeout } from './spawn.ts';

export interface Sink {
  url: string;
  /** Distinct events that arrived: event id → send time and arrival time (ms since the epoch). */
  hits: Map<string, { sentAt: number; at: number }>;
  duplicates: number;
  /** Requests answered 503 while down. */
  refused: number;
  /**
   * Resolves with true once `n` distinct events have arrived, with false after `timeoutMs`;
   * rejects at once if `failed` does (the server under test died).
   */
  until(n: number, timeoutMs: number, failed?: Promise<never>): Promise<boolean>;
  setDown(down: boolean): void;
  stop(): Promise<void>;
}

export async function startSink(): Promise<Sink> {
  const proc: ChildProcess = fork(fileURLToPath(new URL('../servers/sink.ts', import.meta.url)), { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const url = await withTimeout(
    new Promise<string>((resolve, reject) => {
      proc.stdout!.on('data', (d: Buffer) => {
        const m = /listening on (\S+)/.exec(String(d));
        if (m) resolve(m[1]!);
      });
      void exited.then(() => reject(new Error('the sink exited before listening')));
    }),
    10_000,
    'the sink did not start listening within 10 s',
  );
  const waiters = new Set<() => void>();
  const sink: Sink = {
    url,
    hits: new Map(),
    duplicates: 0,
    refused: 0,
    until: (n, timeoutMs, failed) => {
      let check = () => {};
      let timer: NodeJS.Timeout | undefined;
      const arrived = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
        check = () => {
          if (sink.hits.size >= n) resolve(true);
        };
        waiters.add(check);
        check();
      });
      return Promise.race(failed ? [arrived, failed] : [arrived]).finally(() => {
        clearTimeout(timer);
        waiters.delete(check);
      });
    },
    setDown: (down) => proc.send({ down }),
    stop: async () => {
      proc.kill();
      await exited;
    },
  };
  proc.on('message', (m: { id?: string; sentAt?: number; at?: number; refused?: number }) => {
    if (m.refused) sink.refused += m.refused;
    if (!m.id) return;
    if (sink.hits.has(m.id)) sink.duplicates++;
    else sink.hits.set(m.id, { sentAt: m.sentAt!, at: m.at! });
    for (const check of waiters) check();
  });
  return sink;
}
