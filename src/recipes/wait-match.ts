import type { WaitStep } from './compile.ts';
import { describeJsonataError, type Bindings } from './expressions.ts';
import { truthy } from './view.ts';

/** Whether an event ends a wait_for step: its pattern and its `match` expression (errors: no match). */
export async function waitMatches(step: WaitStep, view: Record<string, unknown>, bindings: Bindings, onError: (message: string) => void): Promise<boolean> {
  if (!step.event.matches(String(view.source), String(view.type))) return false;
  if (!step.match) return true;
  try {
    return truthy(await step.match.evaluate(view, bindings));
  } catch (error) {
    onError(`match expression "${step.match.source}" failed: ${describeJsonataError(error)}`);
    return false;
  }
}
