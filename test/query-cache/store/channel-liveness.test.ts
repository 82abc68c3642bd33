// Why: the liveness rules on their own clock: L1 may be used exactly while the last proof is younger
// than B, a lapse is announced once (not once per retry) and retried every B, a healthy channel never
// flaps, and a heartbeat that comes back too late proves nothing.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ChannelLiveness } from '../../../src/query-cache/store/channel-liveness.ts';

const H = 1000;
const B = 3000;

let events: string[];
let sent: number[];
let liveness: ChannelLiveness;

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
  vi.setSystemTime(0);
  events = [];
  sent = [];
  liveness = new ChannelLiveness({
    heartbeatIntervalMs: H,
    maxSilenceMs: B,
    publishHeartbeat: async (at) => void sent.push(at),
    onDown: (silentMs) => void events.push(`down after ${silentMs}`),
    onUp: (downForMs) => void events.push(`up after ${downForMs}`),
    reconnect: () => void events.push(`reconnect at ${Date.now()}`),
    now: () => Date.now(),
  });
  liveness.start();
});
afterEach(() => {
  liveness.stop();
  vi.useRealTimers();
});

/** Echo every heartbeat sent so far, as the subscriber would deliver it. */
const echo = () => {
  for (const at of sent.splice(0)) liveness.heartbeatBack(at);
};

describe('ChannelLiveness', () => {
  it('stays up while heartbeats come back (no flapping), and goes down exactly B after the last proof', () => {
    liveness.subscribedSince(0);
    for (let t = 0; t < 10 * H; t += 100) {
      vi.advanceTimersByTime(100);
      echo(); // each heartbeat back within 100 ms of being sent
      expect(liveness.isUp()).toBe(true);
    }
    expect(events).toEqual([]);
    // Silence from here: the last proof is the heartbeat sent at 10 000.
    vi.advanceTimersByTime(B - 1);
    expect(liveness.isUp()).toBe(true);
    vi.advanceTimersByTime(1);
    expect(liveness.isUp()).toBe(false); // exact: now - 10 000 = B
    expect(events).toEqual(['down after 3000', 'reconnect at 13000']);
    expect(liveness.silentMs()).toBe(B);
  });

  it('announces a lapse once, retries the reconnect every B, and comes back on a fresh proof only', () => {
    liveness.subscribedSince(0);
    vi.advanceTimersByTime(3 * B);
    expect(events).toEqual(['down after 3000', 'reconnect at 3000', 'reconnect at 6000', 'reconnect at 9000']);
    // A heartbeat that was held up in the network for longer than B proves nothing about now.
    liveness.heartbeatBack(5000);
    expect(liveness.isUp()).toBe(false);
    sent.splice(0);
    vi.advanceTimersByTime(H); // sends one at 10 000
    echo();
    expect(liveness.isUp()).toBe(true);
    expect(events.at(-1)).toBe('up after 7000');
  });

  it('counts heartbeats only while subscribed, and a resubscribe as proof', () => {
    liveness.subscribedSince(0);
    liveness.unsubscribed();
    expect(liveness.isUp()).toBe(false); // at once: nothing it delivers now counts
    vi.advanceTimersByTime(H);
    echo();
    expect(liveness.isUp()).toBe(false);
    liveness.subscribedSince(Date.now());
    expect(liveness.isUp()).toBe(true);
    expect(events).toEqual([]); // back within B: no lapse to announce
  });

  it('a replica that never proves its channel says so B after start', () => {
    vi.advanceTimersByTime(B);
    expect(events).toEqual(['down after 3000', 'reconnect at 3000']);
    liveness.subscribedSince(Date.now());
    expect(events.at(-1)).toBe('up after 0');
  });
});
