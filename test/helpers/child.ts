import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { MERU_SECRET, MURO_SECRET } from './env.ts';

export const bin = fileURLToPath(new URL('../../bin/hookline.js', import.meta.url));

const execFileAsync = promisify(execFile);

/** Runs a hookline command to its end, as an operator would; resolves with its exit code and output, whatever the code. */
export async function runHookline(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [bin, ...args], { cwd, env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/**
 * A hookline.yaml for a child process, its files in `dir`; `extra` is appended verbatim. The store is
 * `dir`/hookline.db unless `storeUrl` names another (a PostgreSQL schema several children share).
 */
export function writeChildConfig(dir: string, extra = '', storeUrl = `sqlite:${join(dir, 'hookline.db')}`): string {
  const file = join(dir, 'hookline.yaml');
  writeFileSync(
    file,
    `server: { host: 127.0.0.1, port: 0 }
store: { url: ${JSON.stringify(storeUrl)} }
sources:
  muro: { secrets: ["${MURO_SECRET}"] }
  meru: { secrets: ["${MERU_SECRET}"] }
recipes: ${join(dir, 'recipes')}
attachments: ${join(dir, 'attachments')}
data_dir: ${dir}
log: { level: warn }
${extra}`,
  );
  return file;
}

export interface Child {
  proc: ChildProcess;
  url: string;
  stderr: () => string;
  stdout: () => string;
  /** Resolves when stdout (the JSON log) has a line matching `pattern`, counting from now on. */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** SIGTERM and wait for exit; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL: no chance to clean up. */
  kill(): Promise<void>;
}

/** Runs `hookline serve` (or another command) as a real child process; resolves once it listens. */
export function spawnHookline(args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; waitFor?: RegExp } = { cwd: '.' }): Promise<Child> {
  const proc = spawn(process.execPath, [bin, ...args], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  let out = '';
  const logWaiters = new Set<{ pattern: RegExp; from: number; resolve: (line: string) => void }>();
  proc.stdout!.on('data', (d) => {
    out += d;
    for (const w of logWaiters) {
      const line = out.slice(w.from).split('\n').find((l) => w.pattern.test(l));
      if (line) {
        logWaiters.delete(w);
        w.resolve(line);
      }
    }
  });
  const waitForLog = (pattern: RegExp, timeoutMs = 20_000) =>
    new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no log line matching ${pattern} within ${timeoutMs} ms:\n${out.slice(-2000)}`)), timeoutMs);
      logWaiters.add({ pattern, from: out.length, resolve: (line) => { clearTimeout(timer); resolve(line); } });
    });
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const pattern = options.waitFor ?? /hookline listening on (http:\/\/\S+)/;
    proc.stderr!.on('data', (d) => {
      err += d;
      const m = pattern.exec(err);
      if (m) {
        resolve({
          proc,
          url: m[1] ?? '',
          stderr: () => err,
          stdout: () => out,
          waitForLog,
          stop: () => {
            proc.kill('SIGTERM');
            return exited;
          },
          kill: async () => {
            proc.kill('SIGKILL');
            await exited;
          },
        });
      }
    });
    void exited.then((code) => reject(new Error(`hookline exited (${code}) before it was ready:\n${err}\n${out}`)));
  });
}
