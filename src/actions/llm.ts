import { z } from 'zod';
import type { Config } from '../config/schema.ts';
import { NonRetryableError } from '../errors.ts';
import { errorForStatus, networkError, parseRetryAfter, truncate } from './http-status.ts';
import type { ActionContext, ActionDefinition } from './types.ts';

interface Chat {
  system?: string | undefined;
  user: string;
  model?: string | undefined;
  max_tokens?: number | undefined;
  temperature?: number | undefined;
}

/** One chat completion through the official openai SDK; model, tokens and latency are recorded. */
async function complete(chat: Chat, ctx: ActionContext) {
  // Loaded on first use: a server whose recipes never call the LLM does not hold the SDK in memory.
  const sdk = await import('openai');
  const openai = new sdk.default({ apiKey: ctx.config.connections.openai.api_key!, baseURL: ctx.config.connections.openai.base_url, maxRetries: 0, timeout: ctx.config.retry.timeout });
  const model = chat.model ?? ctx.config.connections.openai.model;
  const messages = [...(chat.system ? [{ role: 'system' as const, content: chat.system }] : []), { role: 'user' as const, content: chat.user }];
  const request = { model, messages, ...(chat.max_tokens ? { max_completion_tokens: chat.max_tokens } : {}), ...(chat.temperature === undefined ? {} : { temperature: chat.temperature }) };
  ctx.trace.request = { method: 'POST', path: '/chat/completions', body: { ...request, messages: messages.map((m) => ({ ...m, content: truncate(m.content, 2000) })) } };
  const started = performance.now();
  try {
    const answer = await openai.chat.completions.create(request, { signal: ctx.signal });
    const latencyMs = Math.round(performance.now() - started);
    const text = answer.choices[0]?.message?.content ?? '';
    const usage = { prompt_tokens: answer.usage?.prompt_tokens ?? 0, completion_tokens: answer.usage?.completion_tokens ?? 0, total_tokens: answer.usage?.total_tokens ?? 0 };
    ctx.trace.response = { status: 200, body: { model: answer.model, usage, text: truncate(text, 2000) } };
    return { text, model: answer.model, usage, latency_ms: latencyMs, finish_reason: answer.choices[0]?.finish_reason ?? null };
  } catch (error) {
    throw classify(error, ctx, sdk);
  }
}

function classify(error: unknown, ctx: ActionContext, { APIError, APIConnectionError }: typeof import('openai')): Error {
  if (error instanceof APIError && typeof error.status === 'number') {
    const body = error.error as { message?: string; code?: string } | undefined;
    ctx.trace.response = { status: error.status, body };
    // An exhausted quota answers 429 too, but waiting does not help: the operator must act.
    if (body?.code === 'insufficient_quota') return new NonRetryableError(`OpenAI: insufficient quota — check the plan and billing of connections.openai`, { status: 429 });
    return errorForStatus(error.status, 'OpenAI', body?.message ?? error.message, { retryAfterMs: parseRetryAfter(error.headers?.get('retry-after'), ctx.clock.now()), connection: 'openai' });
  }
  if (error instanceof APIConnectionError) return networkError('OpenAI', error.cause ?? error);
  return error as Error;
}

function preview(config: Config, chat: Chat) {
  return { method: 'POST', url: `${config.connections.openai.base_url}/chat/completions`, body: { model: chat.model ?? config.connections.openai.model, system: chat.system, input: truncate(chat.user, 2000) } };
}

const common = {
  model: z.string().optional(),
  max_tokens: z.number().int().positive().optional(),
  temperature: z.number().min(0).max(2).optional(),
};

type SummarizeArgs = { input: unknown; instructions: string; model?: string | undefined; max_tokens?: number | undefined; temperature?: number | undefined };
const asText = (input: unknown) => (typeof input === 'string' ? input : JSON.stringify(input, null, 2));

export const llmSummarize: ActionDefinition<SummarizeArgs> = {
  name: 'llm.summarize',
  description: 'summarise a text (a transcript) with the configured LLM',
  connection: 'openai',
  args: () =>
    z
      .object({
        input: z.unknown().refine((v) => v !== undefined && v !== null && v !== '', { message: 'nothing to summarise' }),
        instructions: z.string().default('Summarise the resolution in 50 words.'),
        ...common,
      })
      .strict() as never,
  execute: (args, ctx) => complete({ system: args.instructions, user: asText(args.input), model: args.model, max_tokens: args.max_tokens, temperature: args.temperature }, ctx),
  preview: (args, config) => preview(config, { system: args.instructions, user: asText(args.input), model: args.model }),
  fake: () => ({ text: '(summary)', model: 'fake', usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 }, latency_ms: 0 }),
};

type CompleteArgs = { prompt: string; system?: string | undefined; model?: string | undefined; max_tokens?: number | undefined; temperature?: number | undefined };

export const llmComplete: ActionDefinition<CompleteArgs> = {
  name: 'llm.complete',
  description: 'send a prompt to the configured LLM and return its text',
  connection: 'openai',
  args: () => z.object({ prompt: z.string().min(1), system: z.string().optional(), ...common }).strict(),
  execute: (args, ctx) => complete({ system: args.system, user: args.prompt, model: args.model, max_tokens: args.max_tokens, temperature: args.temperature }, ctx),
  preview: (args, config) => preview(config, { system: args.system, user: args.prompt, model: args.model }),
  fake: () => ({ text: '(completion)', model: 'fake', usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 }, latency_ms: 0 }),
};
