// Raw HTTP/1.1 over node:net, for what node:http hides: a body that is held back, a socket that
// sends nothing, and whether the server closed the connection.
import { connect, type Socket } from 'node:net';

export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
  json: any;
}

export interface RawConnection {
  socket: Socket;
  /** The first response on the connection, parsed (resolves as soon as it is complete). */
  answer: Promise<RawAnswer>;
  /** Resolves when the connection ends (server closed it, or it was destroyed), with ms since connecting. */
  closed: Promise<number>;
  /** Whether the socket is still open. */
  isOpen(): boolean;
}

/** Opens a TCP connection to the server of `url` and writes `head` (and nothing else, unless asked). */
export function rawConnect(url: string, head = ''): RawConnection {
  const { hostname, port } = new URL(url);
  const socket = connect({ host: hostname, port: Number(port) });
  socket.on('error', () => {}); // a reset after the answer is expected in several tests
  const started = performance.now();
  let open = true;
  let received = Buffer.alloc(0);
  const closed = new Promise<number>((resolve) => socket.once('close', () => {
    open = false;
    resolve(performance.now() - started);
  }));
  const answer = new Promise<RawAnswer>((resolve, reject) => {
    const tryParse = (final: boolean) => {
      const text = received.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) {
        if (final) reject(new Error(`connection closed without a response${text ? `: ${JSON.stringify(text)}` : ''}`));
        return;
      }
      const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      const length = headers['content-length'] === undefined ? undefined : Number(headers['content-length']);
      const rest = received.subarray(Buffer.byteLength(text.slice(0, end + 4), 'latin1'));
      if (length === undefined ? !final : rest.length < length) {
        if (final) reject(new Error('connection closed in the middle of a response'));
        return;
      }
      const body = rest.subarray(0, length ?? rest.length).toString('utf8');
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        json = undefined;
      }
      resolve({ status: Number(statusLine!.split(' ')[1]), headers, body, json });
    };
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      tryParse(false);
    });
    socket.once('close', () => tryParse(true));
  });
  answer.catch(() => {});
  if (head) socket.write(head);
  return { socket, answer, closed, isOpen: () => open };
}

/** The head of a request: request line, headers, blank line. */
export function requestHead(method: string, path: string, headers: Record<string, string | number>): string {
  const lines = [`${method} ${path} HTTP/1.1`, 'Host: hookline.test', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** Rejects with `message` when `promise` has not settled within `ms` (a bound on a wait, not a sleep). */
export function within<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${message} (within ${ms} ms)`)), ms);
  });
  return Promise.race([promise, bound]).finally(() => clearTimeout(timer));
}
