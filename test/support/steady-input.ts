// A steady stream of input records for tests that change the app under load: `keys` keys in turn, `perSend` records
// every 50 ms, and the number sent per key (what an exact count must end at).
import { testProducer } from './kafka.js';

export interface SteadyInput {
  /** Records sent so far, per key. */
  sent: Map<string, number>;
  /** The number of records sent so far. */
  total(): number;
  /** Stops sending after the send under way (e.g. while the cluster is down); resolves once it is acknowledged. */
  pause(): Promise<void>;
  /** Sends again after `pause`. */
  resume(): void;
  /** Stops sending; resolves once the last send is acknowledged and the producer disconnected. Idempotent. */
  stop(): Promise<void>;
}

export async function steadyInput(topic: string, { keys = 97, perSend = 60 } = {}): Promise<SteadyInput> {
  const sent = new Map<string, number>();
  const producer = testProducer();
  await producer.connect();
  let producing = true;
  let paused: { done: Promise<void>; release: () => void; acknowledged: () => void } | undefined;
  let i = 0;
  const loop = (async () => {
    while (producing) {
      if (paused !== undefined) {
        const p = paused;
        p.acknowledged();
        await p.done;
        continue;
      }
      const messages = Array.from({ length: perSend }, () => ({ key: `k${i++ % keys}`, value: 'x' }));
      await producer.send({ topic, messages });
      for (const m of messages) sent.set(m.key, (sent.get(m.key) ?? 0) + 1);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  let stopped: Promise<void> | undefined;
  return {
    sent,
    total: () => [...sent.values()].reduce((a, b) => a + b, 0),
    pause() {
      if (paused === undefined) {
        let release = () => {};
        let acknowledged = () => {};
        const done = new Promise<void>((r) => (release = r));
        const quiet = new Promise<void>((r) => (acknowledged = r));
        paused = { done, release, acknowledged };
        // The loop may also end (stop) instead of reaching the pause.
        return Promise.race([quiet, loop]);
      }
      return Promise.resolve();
    },
    resume() {
      const p = paused;
      paused = undefined;
      p?.release();
    },
    stop: () => {
      producing = false;
      const p = paused;
      paused = undefined;
      p?.release();
      stopped ??= loop.finally(() => producer.disconnect());
      return stopped;
    },
  };
}
