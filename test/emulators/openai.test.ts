// openai SDK 7 against the OpenAI emulator.
//
// Construction: new OpenAI({ apiKey, baseURL: emulator.baseURL, maxRetries }) — baseURL is the
// origin plus `/v1`. Without `baseURL` the SDK reads OPENAI_BASE_URL from the environment.
//
// How the SDK surfaces failures: HTTP errors reject with a subclass of APIError chosen by status
// (BadRequestError 400, AuthenticationError 401, PermissionDeniedError 403, NotFoundError 404,
// ConflictError 409, UnprocessableEntityError 422, RateLimitError 429, InternalServerError >=500):
//   error.status                        the HTTP status
//   error.headers.get('retry-after')    a fetch Headers object: Retry-After, x-ratelimit-*, x-request-id
//   error.requestID                     x-request-id
//   error.error                         the body's inner `error` object {message, type, param, code}
//   error.code / error.type / error.param  copied from it ('rate_limit_exceeded', 'insufficient_quota', ...)
// No response at all -> APIConnectionError (status undefined), a timeout -> APIConnectionTimeoutError.
//
// Retries: ON by default (maxRetries 2) for 408, 409, 429, >=500 and connection errors, or whatever
// an `x-should-retry: true|false` header says. It waits `retry-after-ms`, else `Retry-After`
// (seconds or HTTP date) when that is 0..60 s, else 0.5 s × 2^n with jitter (max 8 s). Pass
// maxRetries: 0 (client or per request) when the caller classifies and retries itself.
import OpenAI, {
  APIConnectionError,
  AuthenticationError,
  BadRequestError,
  InternalServerError,
  NotFoundError,
  RateLimitError,
} from 'openai';
import type { ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { countTokens, insufficientQuotaBody, startOpenAIEmulator, type OpenAIEmulator } from './openai.ts';

let openai: OpenAIEmulator;

beforeAll(async () => {
  openai = await startOpenAIEmulator({ apiKey: 'sk-test-key-1234567890' });
});
afterAll(async () => {
  await openai.close();
});
beforeEach(() => {
  openai.reset();
});

function client(options: { apiKey?: string; maxRetries?: number } = {}): OpenAI {
  return new OpenAI({ apiKey: 'sk-test-key-1234567890', baseURL: openai.baseURL, maxRetries: 0, ...options });
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to reject');
}

describe('OpenAI emulator with the openai SDK', () => {
  it('chat.completions.create returns a deterministic completion with word-count usage', async () => {
    const messages = [
      { role: 'system' as const, content: 'Summarise the ticket.' },
      { role: 'user' as const, content: 'The printer on floor three is on fire again and nobody has called anyone about it yet' },
    ];
    const completion = await client().chat.completions.create({ model: 'gpt-4o-mini', messages });
    expect(completion.object).toBe('chat.completion');
    expect(completion.model).toBe('gpt-4o-mini');
    expect(completion.choices[0]?.message.content).toBe('The printer on floor three is on fire again and nobody has');
    expect(completion.choices[0]?.finish_reason).toBe('stop');
    const prompt = countTokens(messages[0]!.content) + countTokens(messages[1]!.content);
    expect(completion.usage).toMatchObject({ prompt_tokens: prompt, completion_tokens: 12, total_tokens: prompt + 12 });

    const [request] = await openai.waitFor(1);
    expect(request?.path).toBe('/v1/chat/completions');
    expect(request?.headers['authorization']).toBe('Bearer sk-test-key-1234567890');
    expect(request?.body).toMatchObject({ model: 'gpt-4o-mini', messages });
    expect(openai.completions[0]?.reply).toBe(completion.choices[0]?.message.content);
  });

  it('uses the reply option and honours max_completion_tokens', async () => {
    const custom = await startOpenAIEmulator({ reply: (r) => `${r.endpoint} ${r.model} says hello to you all` });
    try {
      const sdk = new OpenAI({ apiKey: custom.apiKey, baseURL: custom.baseURL, maxRetries: 0 });
      const full = await sdk.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'hi' }] });
      expect(full.choices[0]?.message.content).toBe('chat.completions gpt-4.1 says hello to you all');
      const cut = await sdk.chat.completions.create({
        model: 'gpt-4.1',
        messages: [{ role: 'user', content: 'hi' }],
        max_completion_tokens: 3,
      });
      expect(cut.choices[0]).toMatchObject({ finish_reason: 'length', message: { content: 'chat.completions gpt-4.1 says' } });
      expect(cut.usage?.completion_tokens).toBe(3);
    } finally {
      await custom.close();
    }
  });

  it('responses.create returns a response whose output_text the SDK assembles', async () => {
    const response = await client().responses.create({
      model: 'gpt-4.1-mini',
      instructions: 'Be brief.',
      input: 'classify this webhook payload please',
    });
    expect(response.object).toBe('response');
    expect(response.status).toBe('completed');
    expect(response.output_text).toBe('classify this webhook payload please');
    expect(response.usage).toMatchObject({ input_tokens: 7, output_tokens: 5, total_tokens: 12 });
    expect(openai.requests[0]?.path).toBe('/v1/responses');
  });

  it('400 for missing or empty messages, 404 for an unknown model', async () => {
    const missing = await rejection(
      client().chat.completions.create({ model: 'gpt-4o' } as unknown as ChatCompletionCreateParamsNonStreaming),
    );
    expect(missing).toBeInstanceOf(BadRequestError);
    expect(missing).toMatchObject({ status: 400, code: 'missing_required_parameter', param: 'messages', type: 'invalid_request_error' });

    const empty = await rejection(client().chat.completions.create({ model: 'gpt-4o', messages: [] }));
    expect(empty).toMatchObject({ status: 400, code: 'empty_array', param: 'messages' });

    const badRole = await rejection(
      client().chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'robot', content: 'x' }] } as unknown as ChatCompletionCreateParamsNonStreaming),
    );
    expect(badRole).toMatchObject({ status: 400, code: 'invalid_value', param: 'messages[0].role' });

    const unknownModel = await rejection(
      client().chat.completions.create({ model: 'gpt-imaginary', messages: [{ role: 'user', content: 'x' }] }),
    );
    expect(unknownModel).toBeInstanceOf(NotFoundError);
    expect(unknownModel).toMatchObject({ status: 404, code: 'model_not_found' });
    expect(openai.delivered).toHaveLength(0);
  });

  it('401 invalid_api_key for a wrong key', async () => {
    const error = await rejection(
      client({ apiKey: 'sk-wrong-key-000000' }).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] }),
    );
    expect(error).toBeInstanceOf(AuthenticationError);
    const auth = error as AuthenticationError;
    expect(auth.status).toBe(401);
    expect(auth.code).toBe('invalid_api_key');
    expect(auth.error).toMatchObject({ type: 'invalid_request_error', param: null, code: 'invalid_api_key' });
    expect(auth.message).toMatch(/^401 Incorrect API key provided: sk-\*+0000\. /);
  });

  it('429: RateLimitError with status, Retry-After and x-ratelimit headers (maxRetries 0: one request)', async () => {
    openai.failNext({ status: 429, retryAfter: 7 });
    const error = await rejection(client().chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] }));
    expect(error).toBeInstanceOf(RateLimitError);
    const limited = error as RateLimitError;
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('7');
    expect(limited.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    expect(limited.code).toBe('rate_limit_exceeded');
    expect(limited.type).toBe('requests');
    expect(limited.requestID).toMatch(/^req_/);
    expect(openai.requests).toHaveLength(1);

    openai.failNext({ status: 429, body: insufficientQuotaBody });
    const quota = (await rejection(
      client().chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] }),
    )) as RateLimitError;
    expect(quota.status).toBe(429);
    expect(quota.code).toBe('insufficient_quota');
  });

  it('the SDK retries 429/5xx by itself, waiting retry-after-ms / Retry-After, when maxRetries > 0', async () => {
    openai.failNext({ status: 429, headers: { 'retry-after-ms': '300' } }, { status: 500, retryAfter: 0 });
    const completion = await client({ maxRetries: 2 }).chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'persist' }],
    });
    expect(completion.choices[0]?.message.content).toBe('persist');
    expect(openai.requests.map((r) => r.status)).toEqual([429, 500, 200]);
    const [first, second, third] = openai.requests.map((r) => r.time);
    expect(second! - first!).toBeGreaterThanOrEqual(280);
    expect(third! - second!).toBeLessThan(250);
  });

  it('500: InternalServerError with the server_error body', async () => {
    openai.failNext(500);
    const error = await rejection(client().chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] }));
    expect(error).toBeInstanceOf(InternalServerError);
    expect(error).toMatchObject({ status: 500, type: 'server_error', code: null });
  });

  it('a destroyed connection is an APIConnectionError without status', async () => {
    openai.setDown(true, 'destroy');
    const error = await rejection(client().chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] }));
    expect(error).toBeInstanceOf(APIConnectionError);
    expect((error as APIConnectionError).status).toBeUndefined();
    openai.setDown(false);
  });
});
