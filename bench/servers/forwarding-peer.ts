// The hand-written alternative to a queue: the seed's express receiver that calls the destination
// inline before answering (no persistence, no retries, no dedup beyond a Set).
import crypto from 'node:crypto';
import express from 'express';

const app = express();
const SECRET = process.env.MURO_WEBHOOK_SECRET!;
const TARGET = process.env.TARGET_URL!;
const seen = new Set<string>();

app.post('/muro/webhook', express.raw({ type: 'application/json', limit: '25mb' }), async (req, res) => {
  const m = /^t=(\d+),v1=([0-9a-f]+)$/.exec(req.header('x-muro-signature') ?? '');
  if (!m) return res.status(401).end();
  const expected = crypto.createHmac('sha256', SECRET).update(`${m[1]}.${req.body.toString('utf8')}`).digest();
  const given = Buffer.from(m[2]!, 'hex');
  if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) return res.status(401).end();
  const event = JSON.parse(req.body.toString('utf8'));
  if (seen.has(event.id)) return res.json({ ok: true, duplicate: true });
  seen.add(event.id);
  try {
    await fetch(TARGET, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: event.id, sent_at: event.data.sent_at }) });
    res.json({ ok: true });
  } catch {
    res.status(502).end();
  }
});

const server = app.listen(0, '127.0.0.1', () => {
  const address = server.address();
  console.log(`listening on http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`);
});
