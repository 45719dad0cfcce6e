/**
 * The OpenTelemetry SDK, loaded by `startTracing()` only when an OTLP endpoint is configured. The
 * official NodeSDK reads the standard OTEL_* variables (endpoint, headers, protocol, sampler,
 * propagators, service name and resource attributes, batch sizes); hookline adds its default
 * service name, traces outbound calls of `fetch` (undici: Slack, http, the OpenAI and HubSpot SDKs)
 * and of Node's http module (node-fetch inside pdjs), and builds its spans' attributes here: names
 * of things (source, event id and type, recipe, step, action, status), never secrets or bodies.
 */
import { readFileSync } from 'node:fs';
import { context, defaultTextMapGetter, defaultTextMapSetter, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { outboundUrlAttributes } from './outbound-url.ts';
import { redactUrl } from './redact.ts';
import { traceHeader, type BegunReceive, type ReceiveAnswer, type TracedEvent, type TracedRun, type TracedStep, type TraceHooks } from './tracing.ts';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

type Headers = Record<string, string | string[] | undefined>;

export function createTraceHooks(env: NodeJS.ProcessEnv = process.env): TraceHooks {
  const sdk = new NodeSDK({
    // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES, read by the SDK's detectors, win over these.
    resource: defaultResource().merge(resourceFromAttributes({ 'service.name': 'hookline', 'service.version': pkg.version })),
    instrumentations: [
      // Only calls made inside a hookline span (a step) are traced and carry `traceparent`: not the
      // exporter's own requests, nor a health probe. Incoming requests get hookline's receive span.
      new UndiciInstrumentation({ requireParentforSpans: true, startSpanHook: (request) => outboundUrlAttributes(`${request.origin}${request.path}`) }),
      new HttpInstrumentation({
        disableIncomingRequestInstrumentation: true,
        requireParentforOutgoingSpans: true,
        startOutgoingSpanHook: (options) => outboundUrlAttributes(`${options.protocol ?? 'http:'}//${options.hostname ?? options.host ?? 'localhost'}${options.port ? `:${options.port}` : ''}${options.path ?? '/'}`),
      }),
    ],
    // Traces only: hookline's metrics are Prometheus (/metrics), its logs are JSON on stdout.
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();
  const tracer = trace.getTracer('hookline', pkg.version);
  // The context stored with an event is always a W3C traceparent, whatever OTEL_PROPAGATORS says of
  // the headers exchanged with others (the sender's, the destinations').
  const stored = new W3CTraceContextPropagator();

  /**
   * The context a stored event's spans continue: its receive span (or, when it was received with
   * tracing off, the sender's traceparent). Replays and retries too: one event, one trace.
   */
  const eventContext = (event: TracedEvent): Context => {
    const traceparent = event.headers[traceHeader] ?? event.headers.traceparent;
    return traceparent ? stored.extract(ROOT_CONTEXT, { traceparent }, defaultTextMapGetter) : ROOT_CONTEXT;
  };
  const eventAttributes = (event: TracedEvent): Attributes => ({
    'hookline.source': event.source,
    'hookline.event.id': event.eventId,
    'hookline.event.type': event.type,
    'hookline.event.seq': event.seq,
    'hookline.event.generation': event.generation,
  });

  /** Runs `fn` inside `span`, ends it with the outcome `describe` names, or as an error if it throws. */
  async function within<R>(span: Span, fn: () => Promise<R>, describe: (result: R) => { outcome: string; error?: boolean; attributes?: Attributes }): Promise<R> {
    try {
      const result = await context.with(trace.setSpan(context.active(), span), fn);
      const { outcome, error, attributes } = describe(result);
      span.setAttributes({ ...attributes, 'hookline.outcome': outcome });
      if (error) span.setStatus({ code: SpanStatusCode.ERROR, message: outcome });
      return result;
    } catch (error) {
      // The error's kind only: its message may quote event data or a destination's answer.
      const kind = error instanceof Error ? error.name : typeof error;
      span.setAttributes({ 'hookline.outcome': 'error', 'error.type': kind });
      span.setStatus({ code: SpanStatusCode.ERROR, message: kind });
      throw error;
    } finally {
      span.end();
    }
  }

  // Attributes are set once, at the end: the receive span is on the hot path.
  const endReceive = (span: Span, source: string, answer: ReceiveAnswer) => {
    const id = answer.body.id;
    span.setAttributes({ 'hookline.source': source, 'http.response.status_code': answer.status, 'hookline.outcome': answer.outcome, ...(typeof id === 'string' ? { 'hookline.event.id': id } : {}) });
    // A refusal (4xx) is the sender's; only the receiver's own failure (5xx) is an error (as for HTTP servers).
    if (answer.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR, message: answer.outcome });
    span.end();
    return answer;
  };

  return {
    receive<B extends BegunReceive>(source: string, headers: Headers, begin: (headers: Headers) => B): B {
      const parent = propagation.extract(ROOT_CONTEXT, headers);
      const span = tracer.startSpan(`receive ${source}`, { kind: SpanKind.SERVER }, parent);
      const carrier: Record<string, string> = {};
      stored.inject(trace.setSpan(ROOT_CONTEXT, span), carrier, defaultTextMapSetter);
      // Stored with the event (its headers), for dispatch and runs to continue this trace.
      const begun = begin(carrier.traceparent ? { ...headers, [traceHeader]: carrier.traceparent } : headers);
      if ('refused' in begun) {
        endReceive(span, source, begun.refused);
        return begun;
      }
      // A new delivery around the core's: replacing a method of the core's own object instead made
      // V8 reshape every delivery, and the heap of a busy receiver grew by half (seen in the bench).
      const inner = begun.delivery;
      const receive = () =>
        inner.receive().then(
          (answer) => endReceive(span, source, answer),
          (error: unknown) => {
            span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.name : 'error' });
            span.end();
            throw error;
          },
        );
      return { ...begun, delivery: { ...inner, receive } };
    },

    dispatch(event, plan) {
      const span = tracer.startSpan(`dispatch ${event.source}`, { kind: SpanKind.CONSUMER, attributes: eventAttributes(event) }, eventContext(event));
      return within(span, plan, (p) => ({
        outcome: 'planned',
        attributes: { 'hookline.runs': p.runs.length, 'hookline.recipes': [...new Set(p.runs.map((r) => r.recipe))], 'hookline.waits_resolved': p.resolutions.length },
      }));
    },

    run(run, execute) {
      const attributes = { ...eventAttributes(run.event), 'hookline.recipe': run.recipe, 'hookline.run.id': run.id, 'hookline.run.attempt': run.attempt };
      const span = tracer.startSpan(`run ${run.recipe}`, { kind: SpanKind.INTERNAL, attributes }, eventContext(run.event));
      return within(span, execute, (result) => ({ outcome: result, error: result === 'dead' }));
    },

    step(recipe, step, attempt, execute) {
      const action = step.kind === 'wait' ? 'wait_for' : (step.action?.name ?? 'unknown');
      const attributes = { 'hookline.recipe': recipe, 'hookline.step': step.id, 'hookline.action': action, 'hookline.step.attempt': attempt };
      const span = tracer.startSpan(`step ${recipe}.${step.id}`, { kind: SpanKind.INTERNAL, attributes });
      return within(span, execute, (result) => {
        const outcome = stepOutcome(result);
        return { outcome, error: outcome === 'dead' || outcome === 'retrying' };
      });
    },

    shutdown: () => sdk.shutdown(),

    describe() {
      const protocol = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL || env.OTEL_EXPORTER_OTLP_PROTOCOL || 'http/protobuf';
      const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || `${(env.OTEL_EXPORTER_OTLP_ENDPOINT ?? '').replace(/\/$/, '')}/v1/traces`;
      return `OTLP ${protocol} to ${redactUrl(endpoint)}`;
    },
  };
}

/** What a step came to: the engine's result (a run state), its output (done or skipped), or a wait. */
function stepOutcome(result: unknown): string {
  if (typeof result === 'string') return result; // retrying, dead, released, done (the last step)
  if (result === undefined) return 'waiting';
  const output = (result as { output?: unknown } | null)?.output;
  return typeof output === 'object' && output !== null && 'skipped' in output ? 'skipped' : 'done';
}
