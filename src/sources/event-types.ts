import type { SourceName } from '../config/schema.ts';

/**
 * The event types each source is known to send, for `hookline check` to warn about a recipe that
 * waits for a type nobody sends (a typo). A warning, never an error: a provider may add types, and
 * hookline stores and acknowledges any type it receives.
 */
export const eventTypes: Record<SourceName, readonly string[]> = {
  // muro's "Webhooks 101" (../shared/seeds): the four types it documents. Its "Send test event"
  // posts a message.created with data.test: true.
  muro: ['conversation.opened', 'message.created', 'visitor.identified', 'conversation.closed'],
  // MERU turns every inbound email into one event.
  meru: ['email.received'],
};
