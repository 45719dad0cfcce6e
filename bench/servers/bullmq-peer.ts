// (d) What a team would write instead of hookline: an express 5 receiver that verifies muro's
// signature over the raw body and queues the event in Redis with BullMQ (the body `id` as the
// jobId, so a redelivery is not queued twice), answering 200 once the job is stored; a BullMQ
// Worker in the same process POSTs each event to the destination, retrying failures with
// exponential backoff (the schedule the bench gives hookline: 1 s, 2 s, 4 s, 8 s, 16 s).
// Env: MURO_WEBHOOK_SECRET, TARGET_URL, REDIS_URL, QUEUE (a name per run), CONCURRENCY.
import crypto from 'node:crypto';
import { Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import express from 'express';

const SECRET = process.env.MURO_WEBHOOK_SECRET!;
const TARGET = process.env.TARGET_URL!;
const QUEUE = process.env.QUEUE!;
const redis = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
// BullMQ's workers block on Redis: it wants maxRetriesPerRequest null on their connections.
const connection = { host: redis.hostname, port: Number(redis.port || 6379), maxRetriesPerRequest: null };

interface MuroEvent {
  id: string;
  type: string;
  data: { sent_at?: number };
}

const queue = new Queue<MuroEvent>(QUEUE, {
  connection,
  defaultJobOptions: {
    attempts: 6,
    backoff: { type: 'exponential', delay: 1000, jitter: 0.2 },
    // Completed jobs are kept for the dedup window (muro retries for hours; hookline keeps 24 h).
    removeOnComplete: { age: 24 * 3600 },
    removeOnFail: { age: 7 * 24 * 3600 },
  },
});

const app = express();
app.post('/muro/webhook', express.raw({ type: 'application/json', limit: '25mb' }), async (req, res) => {
  const m = /^t=(\d+),v1=([0-9a-f]+)$/.exec(req.header('x-muro-signature') ?? '');
  if (!m || Math.abs(Date.now() / 1000 - Number(m[1])) > 300) return res.status(401).end();
  const raw = (req.body as Buffer).toString('utf8');
  const expected = crypto.createHmac('sha256', SECRET).update(`${m[1]}.${raw}`).digest();
  const given = Buffer.from(m[2]!, 'hex');
  if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) return res.status(401).end();
  let event: MuroEvent;
  try {
    event = JSON.parse(raw) as MuroEvent;
  } catch {
    return res.status(400).end();
  }
  if (typeof event.id !== 'string' || typeof event.type !== 'string') return res.status(400).end();
  try {
    // A jobId that is already queued (or kept as completed) makes `add` a no-op: the dedup.
    await queue.add(event.type, event, { jobId: event.id });
    res.json({ ok: true, id: event.id });
  } catch {
    res.status(503).end(); // not stored: let the sender retry
  }
});

const worker = new Worker<MuroEvent>(
  QUEUE,
  async (job: Job<MuroEvent>) => {
    const response = await fetch(TARGET, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': job.id! },
      body: JSON.stringify({ id: job.data.id, sent_at: job.data.data.sent_at }),
      signal: AbortSignal.timeout(10_000),
    });
    await response.arrayBuffer();
    if (response.ok) return;
    // Like hookline: 5xx and 429 are retried, another 4xx will not get better.
    const message = `destination answered ${response.status}`;
    throw response.status >= 500 || response.status === 429 ? new Error(message) : new UnrecoverableError(message);
  },
  { connection, concurrency: Number(process.env.CONCURRENCY ?? 32) },
);
worker.on('error', (err) => console.error('worker error:', err.message));

const server = app.listen(0, '127.0.0.1', () => {
  const address = server.address();
  console.log(`listening on http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`);
});

process.once('SIGTERM', async () => {
  server.close();
  await worker.close();
  await queue.close();
  process.exit(0);
});
