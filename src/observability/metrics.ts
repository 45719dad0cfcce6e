import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * One registry per hookline instance (not prom-client's global), so tests can run several.
 * `queueCounts` is read when Prometheus scrapes (queue depth, dead letters), not on every worker pass.
 */
export function createMetrics(queueCounts: () => Promise<Partial<Record<string, number>>> = async () => ({})) {
  const registry = new Registry();
  let reading: Promise<Partial<Record<string, number>>> | undefined;
  // One store query serves both gauges of a scrape.
  const counts = () => (reading ??= queueCounts().finally(() => setTimeout(() => (reading = undefined), 100).unref()));
  collectDefaultMetrics({ register: registry, prefix: 'hookline_' });
  const registers = [registry];
  return {
    registry,
    received: new Counter({
      name: 'hookline_events_received_total',
      help: 'Webhook requests by source and outcome (accepted, duplicate, or the rejection code)',
      labelNames: ['source', 'outcome'] as const,
      registers,
    }),
    ackLatency: new Histogram({
      name: 'hookline_ack_duration_seconds',
      help: 'Time from request to acknowledgement of webhook requests',
      labelNames: ['source'] as const,
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers,
    }),
    rejected: new Counter({
      name: 'hookline_http_rejections_total',
      help: 'Requests outside the webhook routes answered with an error, by status',
      labelNames: ['status'] as const,
      registers,
    }),
    queueDepth: new Gauge({
      name: 'hookline_queue_depth',
      help: 'Recipe runs by state: queued, running, retrying (failed, will retry), waiting (wait_for)',
      labelNames: ['state'] as const,
      registers,
      async collect() {
        const c = await counts();
        for (const state of ['queued', 'running', 'retrying', 'waiting'] as const) this.set({ state }, c[state] ?? 0);
      },
    }),
    runs: new Counter({
      name: 'hookline_runs_total',
      help: 'Recipe runs finished, by recipe and outcome (done, dead)',
      labelNames: ['recipe', 'outcome'] as const,
      registers,
    }),
    actions: new Counter({
      name: 'hookline_action_results_total',
      help: 'Step attempts by action and result (ok, skipped, retry, failed)',
      labelNames: ['action', 'result'] as const,
      registers,
    }),
    stepLatency: new Histogram({
      name: 'hookline_step_duration_seconds',
      help: 'Duration of step attempts by action',
      labelNames: ['action'] as const,
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    deadLetters: new Gauge({
      name: 'hookline_dead_letters',
      help: 'Runs currently in dead letters',
      registers,
      async collect() {
        this.set((await counts()).dead ?? 0);
      },
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
