import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** How dispatch stands: seconds the oldest event has waited for it, and how many events are set aside. */
export interface DispatchState {
  lagSeconds: number;
  setAside: number;
}

/** One store query serves every gauge of a scrape that needs it. */
function onePerScrape<T>(read: () => Promise<T>): () => Promise<T> {
  let reading: Promise<T> | undefined;
  return () => (reading ??= read().finally(() => setTimeout(() => (reading = undefined), 100).unref()));
}

/**
 * One registry per hookline instance (not prom-client's global), so tests can run several.
 * `queueCounts` and `dispatchState` are read when Prometheus scrapes, not on every worker pass.
 */
export function createMetrics(
  queueCounts: () => Promise<Partial<Record<string, number>>> = async () => ({}),
  dispatchState: () => Promise<DispatchState> = async () => ({ lagSeconds: 0, setAside: 0 }),
) {
  const registry = new Registry();
  const counts = onePerScrape(queueCounts);
  const dispatch = onePerScrape(dispatchState);
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
    dispatchFailed: new Counter({
      name: 'hookline_events_dispatch_failed_total',
      help: 'Events whose dispatch failed and that were set aside (status failed; replay them after a fix), by source',
      labelNames: ['source'] as const,
      registers,
    }),
    setAside: new Gauge({
      name: 'hookline_events_set_aside',
      help: 'Events set aside now: their dispatch failed (hookline events, status failed)',
      registers,
      async collect() {
        this.set((await dispatch()).setAside);
      },
    }),
    dispatchLag: new Gauge({
      name: 'hookline_dispatch_lag_seconds',
      help: 'How long the oldest event waiting for dispatch has waited (0 when none waits)',
      registers,
      async collect() {
        this.set((await dispatch()).lagSeconds);
      },
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
