import { spawn, type ChildProcess } from 'node:child_process';
import { basename } from 'node:path';

export interface Server {
  url: string;
  proc: ChildProcess;
  /** Rejects if the process exits before `stop()` is called (it crashed); never resolves. */
  died: Promise<never>;
  stop(): Promise<void>;
}

/** `promise`, or a rejection with `message` after `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** SIGTERM, then SIGKILL if the process is still there after `graceMs`. */
export async function terminate(proc: ChildProcess, exited: Promise<unknown>, graceMs = 10_000): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  proc.kill('SIGTERM');
  try {
    await withTimeout(exited, graceMs, 'still running');
  } catch {
    console.error(`pid ${proc.pid} did not stop within ${graceMs / 1000} s of SIGTERM: killed`);
    proc.kill('SIGKILL');
    await exited;
  }
}

/** Starts a server process and resolves with its URL once it prints "listening on <url>". */
export function startServer(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; startTimeoutMs?: number } = {}): Promise<Server> {
  const proc = spawn(process.execPath, args, { cwd: options.cwd, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let stopping = false;
  const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
  const died = exited.then(() =>
    stopping
      ? new Promise<never>(() => {})
      : Promise.reject(new Error(`${basename(args[0]!)} (pid ${proc.pid}) exited unexpectedly (code ${proc.exitCode}, signal ${proc.signalCode})`)),
  );
  died.catch(() => {}); // a failure only for whoever waits on it
  const started = new Promise<Server>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk;
      const m = /listening on (http:\/\/[^\s)]+)/.exec(output);
      if (m) {
        proc.stdout!.off('data', onData);
        proc.stderr!.off('data', onData);
        // After start, only warnings and errors are worth showing (servers log JSON at warn level).
        proc.stdout!.on('data', (d: Buffer) => process.stderr.write(d));
        proc.stderr!.on('data', (d: Buffer) => process.stderr.write(d));
        resolve({
          url: m[1]!,
          proc,
          died,
          stop: async () => {
            stopping = true;
            await terminate(proc, exited);
          },
        });
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    void exited.then(() => reject(new Error(`server exited before listening:\n${output}`)));
  });
  const ms = options.startTimeoutMs ?? 30_000;
  return withTimeout(started, ms, `${args.join(' ')} did not print "listening on" within ${ms / 1000} s`).catch(async (err: unknown) => {
    await terminate(proc, exited, 2000);
    throw err;
  });
}
