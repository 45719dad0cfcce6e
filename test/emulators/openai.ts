// Emulator of the OpenAI API endpoints hookline uses, as the openai SDK 7 calls them:
//
//   POST /v1/chat/completions   client.chat.completions.create   -> chat.completion object
//   POST /v1/responses          client.responses.create          -> response object
//
// `Authorization: Bearer <key>` is required. Errors use OpenAI's body
// {error:{message, type, param, code}}: 401 invalid_api_key, 400 invalid_request_error
// (missing_required_parameter, empty_array, invalid_value, invalid_type), 404 model_not_found,
// 429 rate_limit_exceeded (type "requests") with x-ratelimit-* headers, 500 server_error.
// Streaming (`stream: true`) is not emulated: it answers 400.
//
// Replies are deterministic: by default the first `replyWords` words of the last user
// message; token counts are word counts (see countTokens), so tests can compute usage.
import { randomBytes } from 'node:crypto';
import { startEmulator } from './emulator.ts';
import type { Emulator, EmulatorResponse, RecordedRequest, ScriptedFailure } from './emulator.ts';

export interface OpenAIMessage {
  role: string;
  /** Text content; array content parts are joined with a space. */
  content: string;
}

export interface OpenAIReplyRequest {
  endpoint: 'chat.completions' | 'responses';
  model: string;
  /** For /v1/responses: `instructions` as a system message, then the input items. */
  messages: OpenAIMessage[];
  body: Record<string, unknown>;
}

export interface OpenAIEmulatorOptions {
  apiKey?: string;
  /** Models that exist; other names answer 404 model_not_found. */
  models?: string[];
  /** Reply text for a request (default: the first `replyWords` words of the last user message). */
  reply?: (request: OpenAIReplyRequest) => string;
  replyWords?: number;
}

export interface OpenAICompletionRecord {
  endpoint: 'chat.completions' | 'responses';
  request: OpenAIReplyRequest;
  reply: string;
  usage: { input: number; output: number; total: number };
}

export interface OpenAIEmulator extends Emulator {
  /** Give this to `new OpenAI({ baseURL })`: the origin plus `/v1`. */
  readonly baseURL: string;
  readonly apiKey: string;
  /** Successful completions (both endpoints), in order. */
  readonly completions: OpenAICompletionRecord[];
}

export const DEFAULT_MODELS = [
  'gpt-4o', 'gpt-4o-mini', 'gpt-4.1', 'gpt-4.1-mini', 'gpt-4.1-nano', 'gpt-5', 'gpt-5-mini', 'gpt-5-nano', 'o4-mini',
];

const ROLES = ['system', 'assistant', 'user', 'function', 'tool', 'developer'];

/** The emulator's token count: whitespace-separated words. */
export function countTokens(text: string): number {
  const trimmed = text.trim();
  return trimmed === '' ? 0 : trimmed.split(/\s+/).length;
}

interface OpenAIErrorBody {
  message: string;
  type: string;
  param: string | null;
  code: string | null;
}

function openaiError(status: number, error: OpenAIErrorBody, headers: Record<string, string> = {}): EmulatorResponse {
  return { status, headers: { 'x-request-id': requestId(), ...headers }, body: { error } };
}

function invalid(message: string, param: string | null, code: string | null, status = 400): EmulatorResponse {
  return openaiError(status, { message, type: 'invalid_request_error', param, code });
}

function requestId(): string {
  return `req_${randomBytes(16).toString('hex')}`;
}

function maskKey(key: string): string {
  if (key.length <= 8) return '*'.repeat(key.length);
  return `${key.slice(0, 3)}${'*'.repeat(key.length - 7)}${key.slice(-4)}`;
}

function rateLimitHeaders(remaining: number): Record<string, string> {
  return {
    'x-ratelimit-limit-requests': '500',
    'x-ratelimit-remaining-requests': String(remaining),
    'x-ratelimit-reset-requests': remaining > 0 ? '120ms' : '20s',
    'x-ratelimit-limit-tokens': '200000',
    'x-ratelimit-remaining-tokens': remaining > 0 ? '199000' : '0',
    'x-ratelimit-reset-tokens': remaining > 0 ? '300ms' : '20s',
  };
}

/** An OpenAI 429 that is NOT retryable: the account is out of credit. Use as `failNext({ status: 429, body })`. */
export const insufficientQuotaBody = {
  error: {
    message:
      'You exceeded your current quota, please check your plan and billing details. For more information on this ' +
      'error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.',
    type: 'insufficient_quota',
    param: null,
    code: 'insufficient_quota',
  },
};

function failureResponse(failure: ScriptedFailure, req: RecordedRequest): EmulatorResponse {
  const model = typeof (req.body as { model?: unknown } | undefined)?.model === 'string'
    ? String((req.body as { model: string }).model)
    : 'gpt-4o-mini';
  switch (failure.status) {
    case 400:
      return invalid('Invalid request.', null, null);
    case 401:
      return invalid('Incorrect API key provided.', null, 'invalid_api_key', 401);
    case 403:
      return openaiError(403, {
        message: 'Project does not have access to this model.',
        type: 'invalid_request_error',
        param: null,
        code: 'model_not_found',
      });
    case 429:
      return openaiError(
        429,
        {
          message:
            `Rate limit reached for ${model} in organization org-emulator on requests per min (RPM): Limit 500, ` +
            'Used 500, Requested 1. Please try again in 20s. Visit https://platform.openai.com/account/rate-limits ' +
            'to learn more.',
          type: 'requests',
          param: null,
          code: 'rate_limit_exceeded',
        },
        rateLimitHeaders(0),
      );
    case 503:
      return openaiError(503, {
        message: 'The engine is currently overloaded, please try again later.',
        type: 'server_error',
        param: null,
        code: null,
      });
    default:
      return openaiError(failure.status, {
        message: 'The server had an error while processing your request. Sorry about that!',
        type: 'server_error',
        param: null,
        code: null,
      });
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Text of a message's content: a string, or an array of parts with `text`. */
function contentText(content: unknown): string | undefined {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((part) => (isRecord(part) && typeof part['text'] === 'string' ? part['text'] : ''))
      .filter((t) => t !== '')
      .join(' ');
  }
  return undefined;
}

export async function startOpenAIEmulator(options: OpenAIEmulatorOptions = {}): Promise<OpenAIEmulator> {
  const apiKey = options.apiKey ?? 'sk-emulator-0000000000000000';
  const models = new Set(options.models ?? DEFAULT_MODELS);
  const replyWords = options.replyWords ?? 12;
  const completions: OpenAICompletionRecord[] = [];

  const defaultReply = (request: OpenAIReplyRequest): string => {
    const lastUser = [...request.messages].reverse().find((m) => m.role === 'user');
    const words = (lastUser?.content ?? '').trim().split(/\s+/).filter((w) => w !== '');
    return words.length > 0 ? words.slice(0, replyWords).join(' ') : 'OK';
  };
  const reply = options.reply ?? defaultReply;

  const checkModel = (body: Record<string, unknown>): EmulatorResponse | string => {
    const model = body['model'];
    if (model === undefined || model === null || model === '') return invalid('you must provide a model parameter', null, null);
    if (typeof model !== 'string') {
      return invalid(`Invalid type for 'model': expected a string, but got ${typeof model} instead.`, 'model', 'invalid_type');
    }
    if (!models.has(model)) {
      return invalid(`The model \`${model}\` does not exist or you do not have access to it.`, null, 'model_not_found', 404);
    }
    if (body['stream'] === true) return invalid('Streaming is not supported by the emulator.', 'stream', 'unsupported_value');
    return model;
  };

  const chatCompletions = (body: Record<string, unknown>): EmulatorResponse => {
    const model = checkModel(body);
    if (typeof model !== 'string') return model;
    const raw = body['messages'];
    if (raw === undefined) return invalid("Missing required parameter: 'messages'.", 'messages', 'missing_required_parameter');
    if (!Array.isArray(raw)) {
      return invalid(`Invalid type for 'messages': expected an array of objects, but got ${typeof raw} instead.`, 'messages', 'invalid_type');
    }
    if (raw.length === 0) {
      return invalid(
        "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.",
        'messages',
        'empty_array',
      );
    }
    const messages: OpenAIMessage[] = [];
    for (const [index, message] of raw.entries()) {
      const role = isRecord(message) ? message['role'] : undefined;
      if (role === undefined) {
        return invalid(`Missing required parameter: 'messages[${index}].role'.`, `messages[${index}].role`, 'missing_required_parameter');
      }
      if (typeof role !== 'string' || !ROLES.includes(role)) {
        return invalid(
          `Invalid value: '${String(role)}'. Supported values are: 'system', 'assistant', 'user', 'function', 'tool', and 'developer'.`,
          `messages[${index}].role`,
          'invalid_value',
        );
      }
      const text = contentText((message as Record<string, unknown>)['content']);
      if (text === undefined && role !== 'assistant') {
        return invalid(`Missing required parameter: 'messages[${index}].content'.`, `messages[${index}].content`, 'missing_required_parameter');
      }
      messages.push({ role, content: text ?? '' });
    }
    const n = body['n'] === undefined || body['n'] === null ? 1 : Number(body['n']);
    if (!Number.isInteger(n) || n < 1 || n > 128) {
      return invalid(`Invalid 'n': integer above maximum value. Expected a value <= 128, but got ${String(body['n'])} instead.`, 'n', 'integer_above_max_value');
    }
    const maxTokensRaw = body['max_completion_tokens'] ?? body['max_tokens'];
    const maxTokens = maxTokensRaw === undefined || maxTokensRaw === null ? undefined : Number(maxTokensRaw);

    const request: OpenAIReplyRequest = { endpoint: 'chat.completions', model, messages, body };
    let text = reply(request);
    let finish: 'stop' | 'length' = 'stop';
    if (maxTokens !== undefined && countTokens(text) > maxTokens) {
      text = text.trim().split(/\s+/).slice(0, maxTokens).join(' ');
      finish = 'length';
    }
    const promptTokens = messages.reduce((sum, m) => sum + countTokens(m.content), 0);
    const completionTokens = countTokens(text) * n;
    completions.push({
      endpoint: 'chat.completions',
      request,
      reply: text,
      usage: { input: promptTokens, output: completionTokens, total: promptTokens + completionTokens },
    });
    return {
      status: 200,
      headers: { 'x-request-id': requestId(), 'openai-processing-ms': '1', 'openai-version': '2020-10-01', ...rateLimitHeaders(499) },
      body: {
        id: `chatcmpl-${randomBytes(12).toString('base64url')}`,
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model,
        choices: Array.from({ length: n }, (_, index) => ({
          index,
          message: { role: 'assistant', content: text, refusal: null, annotations: [] },
          logprobs: null,
          finish_reason: finish,
        })),
        usage: {
          prompt_tokens: promptTokens,
          completion_tokens: completionTokens,
          total_tokens: promptTokens + completionTokens,
          prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
          completion_tokens_details: {
            reasoning_tokens: 0,
            audio_tokens: 0,
            accepted_prediction_tokens: 0,
            rejected_prediction_tokens: 0,
          },
        },
        service_tier: 'default',
        system_fingerprint: 'fp_emulator',
      },
    };
  };

  const responses = (body: Record<string, unknown>): EmulatorResponse => {
    const model = checkModel(body);
    if (typeof model !== 'string') return model;
    const input = body['input'];
    if (input === undefined || input === null || input === '') {
      return invalid("Missing required parameter: 'input'.", 'input', 'missing_required_parameter');
    }
    const messages: OpenAIMessage[] = [];
    if (typeof body['instructions'] === 'string') messages.push({ role: 'system', content: body['instructions'] });
    if (typeof input === 'string') {
      messages.push({ role: 'user', content: input });
    } else if (Array.isArray(input)) {
      for (const [index, item] of input.entries()) {
        const role = isRecord(item) ? item['role'] : undefined;
        const text = isRecord(item) ? contentText(item['content']) : undefined;
        if (typeof role !== 'string' || !ROLES.includes(role) || text === undefined) {
          return invalid(`Invalid 'input[${index}]': expected a message with a role and content.`, `input[${index}]`, 'invalid_value');
        }
        messages.push({ role, content: text });
      }
    } else {
      return invalid(`Invalid type for 'input': expected a string or an array, but got ${typeof input} instead.`, 'input', 'invalid_type');
    }
    const request: OpenAIReplyRequest = { endpoint: 'responses', model, messages, body };
    let text = reply(request);
    const maxTokens = typeof body['max_output_tokens'] === 'number' ? body['max_output_tokens'] : undefined;
    const truncated = maxTokens !== undefined && countTokens(text) > maxTokens;
    if (truncated) text = text.trim().split(/\s+/).slice(0, maxTokens).join(' ');
    const inputTokens = messages.reduce((sum, m) => sum + countTokens(m.content), 0);
    const outputTokens = countTokens(text);
    completions.push({
      endpoint: 'responses',
      request,
      reply: text,
      usage: { input: inputTokens, output: outputTokens, total: inputTokens + outputTokens },
    });
    const created = Math.floor(Date.now() / 1000);
    return {
      status: 200,
      headers: { 'x-request-id': requestId(), 'openai-processing-ms': '1', 'openai-version': '2020-10-01', ...rateLimitHeaders(499) },
      body: {
        id: `resp_${randomBytes(24).toString('hex')}`,
        object: 'response',
        created_at: created,
        completed_at: created,
        status: truncated ? 'incomplete' : 'completed',
        error: null,
        incomplete_details: truncated ? { reason: 'max_output_tokens' } : null,
        instructions: body['instructions'] ?? null,
        max_output_tokens: maxTokens ?? null,
        model,
        output: [{
          id: `msg_${randomBytes(24).toString('hex')}`,
          type: 'message',
          status: truncated ? 'incomplete' : 'completed',
          role: 'assistant',
          content: [{ type: 'output_text', text, annotations: [], logprobs: [] }],
        }],
        parallel_tool_calls: true,
        previous_response_id: null,
        reasoning: { effort: null, summary: null },
        store: body['store'] ?? true,
        temperature: typeof body['temperature'] === 'number' ? body['temperature'] : 1,
        text: { format: { type: 'text' } },
        tool_choice: 'auto',
        tools: [],
        top_p: 1,
        truncation: 'disabled',
        usage: {
          input_tokens: inputTokens,
          input_tokens_details: { cached_tokens: 0 },
          output_tokens: outputTokens,
          output_tokens_details: { reasoning_tokens: 0 },
          total_tokens: inputTokens + outputTokens,
        },
        user: null,
        metadata: {},
      },
    };
  };

  const handler = (req: RecordedRequest): EmulatorResponse => {
    const authorization = req.headers['authorization'];
    const key = authorization?.startsWith('Bearer ') ? authorization.slice('Bearer '.length).trim() : undefined;
    if (!key) {
      return invalid(
        "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer " +
          'auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you\'re ' +
          'accessing the API from your browser and are prompted for a username and password. You can obtain an API ' +
          'key from https://platform.openai.com/account/api-keys.',
        null,
        null,
        401,
      );
    }
    if (key !== apiKey) {
      return invalid(
        `Incorrect API key provided: ${maskKey(key)}. You can find your API key at https://platform.openai.com/account/api-keys.`,
        null,
        'invalid_api_key',
        401,
      );
    }
    const route = `${req.method} ${req.path.replace(/\/+$/, '')}`;
    if (route !== 'POST /v1/chat/completions' && route !== 'POST /v1/responses') {
      return invalid(`Invalid URL (${req.method} ${req.path})`, null, null, 404);
    }
    if (req.bodyParseError || !isRecord(req.body)) {
      return invalid(
        "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library " +
          'correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.',
        null,
        null,
      );
    }
    return route === 'POST /v1/chat/completions' ? chatCompletions(req.body) : responses(req.body);
  };

  const core = await startEmulator({ name: 'openai', handler, failureResponse });

  return {
    ...core,
    baseURL: `${core.origin}/v1`,
    apiKey,
    completions,
    reset() {
      core.reset();
      completions.length = 0;
    },
  };
}
