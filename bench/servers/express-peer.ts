// (b) The peer: the receiver a user writes by hand from the muro seed ("Webhooks 101"):
// express + raw body + HMAC + timingSafeEqual + an in-memory Set for dedup, no persistence.
import crypto from 'node:crypto';
import express from 'express';

const app = express();
const SECRET = process.env.MURO_WEBHOOK_SECRET!;
const seen = new Set<string>();

app.post('/muro/webhook', express.raw({ type: 'application/json', limit: '25mb' }), (req, res) => {
  const header = req.header('x-muro-signature') ?? '';
  const m = /^t=(\d+),v1=([0-9a-f]+)$/.exec(header);
  if (!m) return res.status(401).end();
  const [, ts, sig] = m as unknown as [string, string, string];
  const expected = crypto.createHmac('sha256', SECRET).update(`${ts}.${req.body.toString('utf8')}`).digest('hex');
  const given = Buffer.from(sig, 'hex');
  const wanted = Buffer.from(expected, 'hex');
  if (given.length !== wanted.length || !crypto.timingSafeEqual(given, wanted)) return res.status(401).end();
  if (Math.abs(Date.now() / 1000 - Number(ts)) > 300) return res.status(401).end();
  const event = JSON.parse(req.body.toString('utf8'));
  const id = req.header('x-muro-event-id') ?? event.id;
  if (seen.has(id)) return res.json({ ok: true, duplicate: true });
  seen.add(id);
  res.json({ ok: true });
});

const server = app.listen(0, '127.0.0.1', () => {
  const address = server.address();
  console.log(`listening on http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`);
});
