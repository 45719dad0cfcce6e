import type { z } from 'zod';
import type { VerificationError } from '../errors.ts';

/**
 * The source model: a preset describes one provider's webhook contract (PRODUCT §9); `create`
 * compiles a configured source into a scheme, which is all the receiver, `hookline send`, the
 * console and recipe tests need to know of that provider.
 */

export type PresetName = 'muro' | 'meru' | 'standard-webhooks' | 'github' | 'stripe' | 'shopify' | 'hmac';

/** Request headers as Node gives them: lower-case names; a repeated header may be an array. */
export type RequestHeaders = Readonly<Record<string, string | string[] | undefined>>;

/**
 * Where a delivery's id and type are, as the provider writes them (a string, a number, or anything
 * else it sent): the receiver checks that they are short printable text (`readIdentity`).
 */
export interface EventIdentity {
  /** The dedup key; absent (undefined, null, blank) when the delivery does not carry one (answered 400). */
  id: unknown;
  /** Absent: stored as `unknown`. */
  type: unknown;
}

/** A sample event as the provider sends it: the body, and the type it stands for. */
export interface SampleEvent {
  type: string;
  body: Record<string, unknown>;
}

/** A delivery ready to sign: the body with a fresh id and time where the provider keeps them. */
export interface TestDelivery {
  id: string;
  type: string;
  body: Record<string, unknown>;
}

export interface BeginInput {
  headers: RequestHeaders;
  /** The source's secrets: several during a rotation. */
  secrets: readonly string[];
  /** Current time, unix seconds (injected, so tests control the clock). */
  nowSec: number;
  /** Accepted skew of the timestamp either way, seconds. */
  toleranceSec: number;
}

export interface VerifyInput extends BeginInput {
  rawBody: Buffer;
}

/**
 * The signature of a body being read: each chunk is fed to it as it arrives, so that a forged body
 * is refused without ever being copied into one buffer or hashed in one long pass.
 */
export interface BodySignature {
  update(chunk: Buffer): void;
  /**
   * Once the body is complete: the MACs against every secret, then the timestamp again (a slow body
   * may have outlived the tolerance). Throws VerificationError.
   */
  verify(nowSec: number): void;
}

export interface SignInput {
  /** The exact bytes sent (text is sent as UTF-8). */
  body: string | Buffer;
  secret: string;
  nowSec: number;
  id: string;
  type: string;
}

/** JSONata expressions that find a conversation and its messages in an event (muro). */
export interface TranscriptExpressions {
  conversation_id: string;
  messages: string;
  message_id: string;
}

export interface SourceScheme {
  readonly preset: PresetName;
  /** Headers never stored or shown: they carry MACs of the secret. */
  readonly signatureHeaders: readonly string[];
  /** False where the provider signs no timestamp (github, shopify): a captured delivery can be replayed; dedup is the only guard. */
  readonly replayWindow: boolean;
  /**
   * Rule 0, as soon as the request head is in: throws VerificationError for a missing or malformed
   * signature header or a stale timestamp; otherwise the body's signature, fed as the body arrives
   * and checked in constant time against every secret and every signature in the header.
   */
  begin(input: BeginInput): BodySignature;
  /** `begin`'s verdict alone: the 401 reason, or undefined when the body is worth reading. */
  precheck(headers: RequestHeaders, nowSec: number, toleranceSec: number): VerificationError | undefined;
  /** The whole check over a body already in memory (tools and tests). Throws VerificationError. */
  verify(input: VerifyInput): void;
  /** Id and type of a verified delivery, from what the provider signs where it signs them (each preset's doc says what is trusted). */
  identify(input: { body: Record<string, unknown>; headers: RequestHeaders }): EventIdentity | Promise<EventIdentity>;
  /** The source's own rules for a verified body (rule 4): why it cannot be read (answered 400), or undefined. */
  problem?(body: Record<string, unknown>): string | undefined;
  /** Signs like the provider: the headers to send with `body` (`hookline send`, the console, the bench). */
  sign(input: SignInput): Record<string, string>;
  /** The provider's known event types, where the set is closed and small. */
  readonly eventTypes?: readonly string[];
  /** Named sample events, for `send` and recipe tests; a type's preferred sample comes first. */
  samples(): Readonly<Record<string, SampleEvent>>;
  /** A sample made into a fresh test delivery (muro: also `data.test = true`, as muro's "Send test event" does). */
  testEvent(sample: SampleEvent, input: { id: string; nowSec: number }): TestDelivery;
  /** A random secret in the provider's format, for local use without a configured secret. */
  newDevSecret(): string;
  /** Why a configured secret cannot work with this provider (for config validation), or undefined. */
  secretProblem(secret: string): string | undefined;
  /** Receive-time hook: turns a verified event into the JSON text to store (MERU: attachments saved to disk). */
  prepare?(input: { event: Record<string, unknown>; raw: string; attachmentsDir: string }): Promise<string>;
  /** Where this source's events carry conversations, for transcripts (muro). */
  readonly transcript?: TranscriptExpressions;
}

export interface SourcePreset<Options extends z.ZodObject = z.ZodObject> {
  readonly name: PresetName;
  /** The provider as people write it (MERU, GitHub), for messages. */
  readonly provider: string;
  readonly description: string;
  /** What a 401 costs with this provider, for the warnings about a wrong or missing secret (MERU: the mail is lost). */
  readonly onRejected?: string;
  /** Where an operator pastes the webhook URL at the provider (`serve --tunnel`), when it is worth saying more than "its webhook settings". */
  readonly webhookSettings?: string;
  /** The preset's own config keys (beside path, secrets, tolerance, dedup_ttl). */
  readonly options: Options;
  /** Compiled once per configured source, from its parsed options. */
  create(options: z.output<Options>): SourceScheme;
}
