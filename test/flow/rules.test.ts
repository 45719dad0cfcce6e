// The rules of flow control without I/O: rate slots, circuit transitions, which results count, and
// the config keys (with the message each bad value gets).
import { describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.ts';
import { RetryableError, NonRetryableError } from '../../src/errors.ts';
import { callResult } from '../../src/flow/gate.ts';
import { afterCall, closedCircuit, gate, nextSlot } from '../../src/store/ports/flow.ts';
import { DueTimes } from '../../src/worker/due-times.ts';
import { busiestWindow } from './windows.ts';

describe('rate slots', () => {
  it('never puts count + 1 slots within period + margin, and hands out slots in order', () => {
    const limit = { count: 2, periodMs: 1000, marginMs: 100 };
    let slots: number[] = [];
    const got: number[] = [];
    for (let i = 0; i < 9; i++) {
      const next = nextSlot(slots, limit, 50 * i);
      slots = next.slots;
      got.push(next.slot);
    }
    expect(got).toEqual([0, 50, 1100, 1150, 2200, 2250, 3300, 3350, 4400]);
    expect(busiestWindow(got, 1100)).toBe(2);
    expect(slots).toHaveLength(2);
  });
  it('a slot in the past is never handed out: an idle connection gives the caller its own now', () => {
    expect(nextSlot([0, 10], { count: 2, periodMs: 1000, marginMs: 100 }, 60_000).slot).toBe(60_000);
  });
});

describe('circuit', () => {
  const policy = { after: 3, coolDownMs: 30_000 };
  it('opens after `after` consecutive failures, lets one probe through after the cool-down, closes on its success', () => {
    let c = closedCircuit('slack', 0);
    c = afterCall(c, 'r1', 'failure', policy, 1);
    c = afterCall(c, 'r2', 'failure', policy, 2);
    expect(c.state).toBe('closed');
    c = afterCall(c, 'r3', 'failure', policy, 3);
    expect(c).toMatchObject({ state: 'open', failures: 3, reopenAt: 30_003 });
    expect(gate(c, 'r4', 10_000, 15_000).gate).toEqual({ go: false, until: 30_003 });
    const probe = gate(c, 'r4', 30_003, 15_000);
    expect(probe.gate).toEqual({ go: true, probe: true });
    c = probe.claim!;
    // Another run waits for the probe; the probe's own run may come back.
    expect(gate(c, 'r5', 30_004, 15_000).gate).toEqual({ go: false, until: 45_003 });
    expect(gate(c, 'r4', 30_010, 15_000).gate).toEqual({ go: true, probe: true });
    c = afterCall(c, 'r4', 'ok', policy, 30_050);
    expect(c).toMatchObject({ state: 'closed', failures: 0, probeRun: null });
  });
  it('a failed probe opens it again for a cool-down; a success in between resets the count', () => {
    let c = closedCircuit('slack', 0);
    c = afterCall(afterCall(c, 'a', 'failure', policy, 1), 'b', 'ok', policy, 2);
    expect(c.failures).toBe(0);
    for (const t of [3, 4, 5]) c = afterCall(c, 'x', 'failure', policy, t);
    c = gate(c, 'p', 40_000, 15_000).claim!;
    c = afterCall(c, 'p', 'failure', policy, 40_100);
    expect(c).toMatchObject({ state: 'open', reopenAt: 70_100, probeRun: null });
    // A failure of a call that started before the circuit opened does not push the probe back.
    expect(afterCall(c, 'late', 'failure', policy, 40_200).reopenAt).toBe(70_100);
  });
  it('counts network errors, timeouts and 5xx; not 429 (the destination is up and says slow down); 4xx shows it up', () => {
    expect(callResult(undefined)).toBe('ok');
    expect(callResult(new RetryableError('503', { status: 503 }))).toBe('failure');
    expect(callResult(new Error('ECONNREFUSED'))).toBe('failure');
    expect(callResult(new RetryableError('429', { status: 429, retryAfterMs: 1000 }))).toBeUndefined();
    expect(callResult(new NonRetryableError('400', { status: 400 }))).toBe('ok');
  });
});

describe('due times', () => {
  it('keeps every time once, earliest first', () => {
    const d = new DueTimes();
    for (const t of [50, 10, 30, 10, 40]) d.add(t);
    expect(d.peek()).toBe(10);
    expect(d.takeDue(30)).toBe(true);
    expect(d.peek()).toBe(40);
    expect(d.takeDue(35)).toBe(false);
    d.add(10);
    expect(d.peek()).toBe(10);
  });
});

describe('config: connections.<name>.rate and .circuit', () => {
  const parse = (connections: unknown) => configSchema.safeParse({ connections });
  it('defaults: Slack 1/s, no rate elsewhere, a circuit on every connection (5 failures, 30 s)', () => {
    const c = configSchema.parse({}).connections;
    expect(c.slack.rate).toEqual({ count: 1, periodMs: 1000 });
    expect(c.hubspot.rate).toBeUndefined();
    for (const name of ['slack', 'hubspot', 'pagerduty', 'openai'] as const) expect(c[name].circuit).toEqual({ after: 5, coolDownMs: 30_000 });
  });
  it('takes N/s, N/10s, N/m, N/500ms, and off / none / false to disable', () => {
    const rate = (r: unknown) => {
      const p = parse({ hubspot: { rate: r } });
      return p.success ? p.data.connections.hubspot.rate : 'refused';
    };
    expect(rate('100/10s')).toEqual({ count: 100, periodMs: 10_000 });
    expect(rate('30/m')).toEqual({ count: 30, periodMs: 60_000 });
    expect(rate('1/250ms')).toEqual({ count: 1, periodMs: 250 });
    expect(rate(' 2 / s ')).toEqual({ count: 2, periodMs: 1000 });
    for (const off of ['off', 'none', false, null]) expect(rate(off)).toBeUndefined();
    expect(parse({ slack: { rate: 'off' } }).data?.connections.slack.rate).toBeUndefined();
  });
  it('refuses what is not a rate, with what it expected', () => {
    for (const bad of ['fast', '0/s', '1/0s', '1/s/2', '2 per second', 5, '1/5d']) {
      const p = parse({ hubspot: { rate: bad } });
      expect(p.success, String(bad)).toBe(false);
      expect(p.error!.issues[0]!.path).toEqual(['connections', 'hubspot', 'rate']);
    }
    expect(parse({ hubspot: { rate: 'fast' } }).error!.issues[0]!.message).toMatch(/expected a rate such as 1\/s, 100\/10s or 30\/m .* or off; got "fast"/);
  });
  it('circuit: after and cool_down, or off; unknown keys and bad values refused', () => {
    expect(parse({ openai: { circuit: { after: 2, cool_down: '5s' } } }).data?.connections.openai.circuit).toEqual({ after: 2, coolDownMs: 5000 });
    expect(parse({ openai: { circuit: 'off' } }).data?.connections.openai.circuit).toBeUndefined();
    expect(parse({ openai: { circuit: false } }).data?.connections.openai.circuit).toBeUndefined();
    expect(parse({ openai: { circuit: { after: 0 } } }).success).toBe(false);
    expect(parse({ openai: { circuit: { cool_down: 'soon' } } }).success).toBe(false);
    expect(parse({ openai: { circuit: { threshold: 3 } } }).success).toBe(false);
  });
});
