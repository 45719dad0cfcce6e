import { spawn, type ChildProcess } from 'node:child_process';

export interface Server {
  url: string;
  proc: ChildProcess;
  stop(): Promise<void>;
}

/** Starts a server process and resolves with its URL once it prints "listening on <url>". */
export function startServer(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Server> {
  const proc = spawn(process.execPath, args, { cwd: options.cwd, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
  return new Promise((resolve, reject) => {
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
          stop: async () => {
            proc.kill('SIGTERM');
            await exited;
          },
        });
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    void exited.then(() => reject(new Error(`server exited before listening:\n${output}`)));
  });
}
