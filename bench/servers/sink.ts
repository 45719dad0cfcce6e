// A destination for the end-to-end benchmark: records when each event's request arrives and tells
// the parent over IPC. It can be told to answer 503 (an outage) until told otherwise.
import { createServer } from 'node:http';

let down = false;
process.on('message', (m: { down?: boolean }) => {
  if (typeof m.down === 'boolean') down = m.down;
});

const server = createServer((req, res) => {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (c: string) => (body += c));
  req.on('end', () => {
    if (down) {
      res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"down"}');
      process.send?.({ refused: 1 });
      return;
    }
    const at = Date.now();
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    const event = JSON.parse(body) as { id: string; sent_at: number };
    process.send?.({ id: event.id, sentAt: Number(event.sent_at), at });
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  console.log(`listening on http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`);
});
