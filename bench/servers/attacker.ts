// The attack of `npm run bench -- attack`, in a process of its own so that its writing does not
// delay the legitimate load's event loop: `connections` sockets each announce a body of `bytes`
// (or a little more, so that it never completes), send up to `bytes` of it, and hold it open.
// Reports, per connection, how long the server took to answer it and to close it, once every
// connection is closed or the parent says stop (the still open ones are then counted as open).
import { connect } from 'node:net';

interface Start {
  url: string;
  connections: number;
  bytes: number;
  /** With a well-formed, fresh signature header whose MAC is made up; else none at all. */
  forged: boolean;
  /** Announce exactly `bytes` (the body completes), or 64 KB more (it never does). */
  complete: boolean;
}

const chunk = Buffer.alloc(64 * 1024, 0x61);
const held: Array<{ answeredMs: number | undefined; closedMs: number | undefined; status: number | undefined }> = [];
const stillOpen = new Set<() => void>();

function attack(options: { url: URL; bytes: number; announced: number; headers: Record<string, string> }): void {
  const started = performance.now();
  const socket = connect({ host: options.url.hostname, port: Number(options.url.port) });
  let answeredMs: number | undefined;
  let status: number | undefined;
  socket.on('error', () => {});
  socket.on('data', (data: Buffer) => {
    if (answeredMs !== undefined) return;
    answeredMs = performance.now() - started;
    status = Number(/^HTTP\/1\.1 (\d{3})/.exec(data.toString('latin1'))?.[1]);
  });
  const record = (closedMs: number | undefined) => {
    stillOpen.delete(giveUp);
    held.push({ answeredMs, closedMs, status });
    if (stillOpen.size === 0) report();
  };
  const giveUp = () => {
    socket.removeAllListeners('close');
    socket.destroy();
    record(undefined);
  };
  stillOpen.add(giveUp);
  socket.once('close', () => record(performance.now() - started));
  const head = [
    `POST /muro/webhook HTTP/1.1`,
    'Host: hookline.bench',
    'content-type: application/json',
    `content-length: ${options.announced}`,
    ...Object.entries(options.headers).map(([k, v]) => `${k}: ${v}`),
  ].join('\r\n');
  socket.write(`${head}\r\n\r\n`);
  let sent = 0;
  const pump = () => {
    while (sent < options.bytes && !socket.destroyed) {
      sent += chunk.length;
      if (!socket.write(chunk)) return void socket.once('drain', pump);
    }
  };
  pump();
}

function report(): void {
  process.send?.({ held }, () => process.exit(0));
}

process.on('message', (m: { start?: Start; stop?: boolean }) => {
  if (m.start) {
    const url = new URL(m.start.url);
    const now = Math.floor(Date.now() / 1000);
    // Well-formed and fresh, so that it passes the check before the body; the MAC is made up.
    const headers: Record<string, string> = m.start.forged ? { 'x-muro-signature': `t=${now},v1=${'ab'.repeat(32)}` } : {};
    const announced = m.start.complete ? m.start.bytes : m.start.bytes + chunk.length;
    for (let i = 0; i < m.start.connections; i++) attack({ url, bytes: m.start.bytes, announced, headers });
  }
  if (m.stop) for (const giveUp of [...stillOpen]) giveUp();
});
process.send?.({ ready: true });
