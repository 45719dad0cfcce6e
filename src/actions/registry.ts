import { httpAction } from './http.ts';
import { hubspotNote, hubspotUpsertContact } from './hubspot.ts';
import { llmComplete, llmSummarize } from './llm.ts';
import { logAction } from './log.ts';
import { pagerdutyResolve, pagerdutyTrigger } from './pagerduty.ts';
import { slackAction } from './slack.ts';
import { storeAction } from './store.ts';
import { ticketCreate } from './ticket.ts';
import type { ActionDefinition } from './types.ts';

/** Every action a recipe step can name, by its step key. */
export const builtinActions: readonly ActionDefinition[] = [
  slackAction,
  hubspotUpsertContact,
  hubspotNote,
  llmSummarize,
  llmComplete,
  pagerdutyTrigger,
  pagerdutyResolve,
  ticketCreate,
  logAction,
  storeAction,
  httpAction,
];

export type ActionRegistry = ReadonlyMap<string, ActionDefinition>;

export function actionRegistry(actions: readonly ActionDefinition[] = builtinActions): ActionRegistry {
  return new Map(actions.map((a) => [a.name, a]));
}
