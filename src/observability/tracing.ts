/**
 * OpenTelemetry traces (PRODUCT §12): a span per receive, dispatch, run and step, and `traceparent`
 * on every outbound call. This module is what the pipeline calls; it imports nothing of OpenTelemetry.
 * Unless `startTracing()` loaded the SDK (`./tracing-sdk.ts`, only when an OTLP endpoint is
 * configured), each wrapper below is one `undefined` check and a direct call: tracing off costs nothing.
 *
 * How a run joins the trace of its webhook: the receive span's context is stored with the event, in
 * its headers under `traceHeader`. Dispatch, runs and steps happen later, maybe in another instance,
 * and start their spans as children of that context (not as new traces with a link): a webhook's
 * whole story — receive, dispatch, each run and its steps, the calls they made — is then one trace,
 * and the Slack request carries the sender's trace id. Retries, resumes after a wait_for and replays
 * join it too, however late: trace backends assemble spans by trace id, and one event stays one trace.
 */

/** The stored event header that carries the receive span's context (a W3C `traceparent` value). */
export const traceHeader = 'x-hookline-traceparent';

type Headers = Record<string, string | string[] | undefined>;

/** What a receive ends with (a `WebhookAnswer`). */
export interface ReceiveAnswer {
  status: number;
  outcome: string;
  body: Record<string, unknown>;
}

/** A webhook after its head was read (what `beginWebhook` returns). */
export type BegunReceive = { refused: ReceiveAnswer } | { delivery: { receive(): Promise<ReceiveAnswer> } };

/** The event as the dispatcher and the engine see it. */
export interface TracedEvent {
  seq: number;
  source: string;
  eventId: string;
  type: string;
  generation: number;
  headers: Record<string, string>;
}

export interface TracedRun {
  id: string;
  recipe: string;
  attempt: number;
  generation: number;
  event: TracedEvent;
}

export interface TracedStep {
  id: string;
  kind: 'action' | 'wait';
  action?: { name: string };
}

/** What the SDK module implements. */
export interface TraceHooks {
  receive<B extends BegunReceive>(source: string, headers: Headers, begin: (headers: Headers) => B): B;
  dispatch<P extends { runs: Array<{ recipe: string }>; resolutions: unknown[] }>(event: TracedEvent, plan: () => Promise<P>): Promise<P>;
  run<R extends string>(run: TracedRun, execute: () => Promise<R>): Promise<R>;
  step<R>(recipe: string, step: TracedStep, attempt: number, execute: () => Promise<R>): Promise<R>;
  /** Exports the spans still queued and stops. */
  shutdown(): Promise<void>;
  /** Where spans go, for the startup summary. */
  describe(): string;
}

let hooks: TraceHooks | undefined;

/** Why tracing is on or off, from the standard OTEL_* variables (nothing else is read). */
export function tracingSettings(env: NodeJS.ProcessEnv = process.env): { on: true; endpoint: string } | { on: false; reason: string } {
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (!endpoint) return { on: false, reason: 'OTEL_EXPORTER_OTLP_ENDPOINT is not set' };
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return { on: false, reason: 'OTEL_SDK_DISABLED=true' };
  // As the SDK reads it: "none" first turns traces off.
  if (env.OTEL_TRACES_EXPORTER?.split(',')[0]?.trim() === 'none') return { on: false, reason: 'OTEL_TRACES_EXPORTER=none' };
  return { on: true, endpoint };
}

/**
 * Loads the SDK and starts exporting, when the environment asks for it. Must run before the modules
 * whose calls it traces load (bin/hookline.js calls it first): the `http` instrumentation patches
 * Node's http module as those modules require it. Returns where spans go, or why tracing is off.
 */
export async function startTracing(env: NodeJS.ProcessEnv = process.env): Promise<{ on: boolean; summary: string }> {
  const settings = tracingSettings(env);
  if (!settings.on) return { on: false, summary: `off (${settings.reason})` };
  if (!hooks) {
    try {
      const { createTraceHooks } = await import('./tracing-sdk.ts');
      hooks = createTraceHooks(env);
    } catch (error) {
      // Traces are an aid: hookline serves without them, and says why.
      return { on: false, summary: `off: the OpenTelemetry SDK did not start (${(error as Error).message})` };
    }
  }
  return { on: true, summary: hooks.describe() };
}

/** Exports what is queued and stops tracing (at shutdown). */
export async function stopTracing(): Promise<void> {
  const stopping = hooks;
  hooks = undefined;
  await stopping?.shutdown();
}

/**
 * A receive span from the request head to the answer, child of an incoming `traceparent`. `begin`
 * gets the headers to store: with tracing on, they carry the receive span's context (`traceHeader`).
 */
export function traceReceive<B extends BegunReceive>(source: string, headers: Headers, begin: (headers: Headers) => B): B {
  return hooks ? hooks.receive(source, headers, begin) : begin(headers);
}

/** A dispatch span for one event: what it matched (recipes, runs, waits resolved). */
export function traceDispatch<P extends { runs: Array<{ recipe: string }>; resolutions: unknown[] }>(event: TracedEvent, plan: () => Promise<P>): Promise<P> {
  return hooks ? hooks.dispatch(event, plan) : plan();
}

/** A run span for one execution of a run (a retry, or a resume after a wait, is another). */
export function traceRun<R extends string>(run: TracedRun, execute: () => Promise<R>): Promise<R> {
  return hooks ? hooks.run(run, execute) : execute();
}

/** A step span; the outbound calls made inside it are its children and carry its `traceparent`. */
export function traceStep<R>(recipe: string, step: TracedStep, attempt: number, execute: () => Promise<R>): Promise<R> {
  return hooks ? hooks.step(recipe, step, attempt, execute) : execute();
}
