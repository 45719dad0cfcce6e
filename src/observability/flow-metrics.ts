import { Counter, Gauge, type Registry } from 'prom-client';
import type { FlowStore } from '../store/types.ts';

/**
 * Flow control's metrics (issue 14), read from the store when Prometheus scrapes, so every instance
 * reports the state shared on PostgreSQL: steps held now by a connection's rate or open circuit,
 * circuits open, recipes paused; and, per instance, the steps it held.
 */
export function flowMetrics(registry: Registry, flow: FlowStore) {
  const registers = [registry];
  let reading: Promise<[Record<string, number>, Awaited<ReturnType<FlowStore['circuits']>>, Awaited<ReturnType<FlowStore['paused']>>]> | undefined;
  const read = () =>
    (reading ??= Promise.all([flow.held(), flow.circuits(), flow.paused()]).finally(() => setTimeout(() => (reading = undefined), 100).unref()));
  return {
    holds: new Counter({
      name: 'hookline_flow_holds_total',
      help: 'Steps put back in the queue by flow control (no attempt spent), by connection and reason (rate, circuit)',
      labelNames: ['connection', 'reason'] as const,
      registers,
    }),
    held: new Gauge({
      name: 'hookline_flow_held_runs',
      help: 'Runs waiting now for a connection\'s rate slot or for its circuit to close, by connection and reason (rate, circuit)',
      labelNames: ['connection', 'reason'] as const,
      registers,
      async collect() {
        const [held] = await read();
        this.reset();
        for (const [hold, n] of Object.entries(held)) {
          const [reason, connection] = hold.split(':', 2);
          this.set({ connection: connection ?? '', reason: reason ?? hold }, n);
        }
      },
    }),
    circuitOpen: new Gauge({
      name: 'hookline_circuit_open',
      help: 'Whether the circuit of a connection is open (1): its steps wait for a probe to succeed',
      labelNames: ['connection'] as const,
      registers,
      async collect() {
        const [, circuits] = await read();
        this.reset();
        for (const c of circuits) this.set({ connection: c.connection }, c.state === 'open' ? 1 : 0);
      },
    }),
    paused: new Gauge({
      name: 'hookline_recipe_paused',
      help: 'Paused recipes (1), with hookline_recipe_paused_runs the runs each holds',
      labelNames: ['recipe'] as const,
      registers,
      async collect() {
        const [, , paused] = await read();
        this.reset();
        for (const p of paused) this.set({ recipe: p.recipe }, 1);
      },
    }),
    pausedRuns: new Gauge({
      name: 'hookline_recipe_paused_runs',
      help: 'Runs created and held by a paused recipe',
      labelNames: ['recipe'] as const,
      registers,
      async collect() {
        const [, , paused] = await read();
        this.reset();
        for (const p of paused) this.set({ recipe: p.recipe }, p.held);
      },
    }),
  };
}
