// The two lag signals the autoscaler can read: KEDA's (log end − committed offset per partition of the group, from
// the admin API) and the pods' own `eddy_effective_lag_records` scraped from each pod's /metrics.
import type { Admin } from 'kafkajs';
import { sample } from '../support/http.js';
import { testKafka } from '../support/kafka.js';

export interface LagSignal {
  /** The total lag, or undefined when it cannot be read. */
  read(): Promise<number | undefined>;
  /** Why readings were undefined: reason → count. */
  readonly unreadable: Map<string, number>;
  close(): Promise<void>;
}

const count = (m: Map<string, number>, reason: string): undefined => {
  m.set(reason, (m.get(reason) ?? 0) + 1);
  return undefined;
};

/**
 * KEDA's Kafka scaler: for every partition of `topics` and of every other topic the group has committed offsets for
 * (its repartition topics, say), log end − committed offset; a partition without a committed offset counts its whole
 * log (`offsetResetPolicy: earliest`). A failed query reads as undefined: the loop holds.
 */
export function kafkaLag(groupId: string, topics: string[]): LagSignal {
  let admin: Admin | undefined;
  let closed = false;
  const unreadable = new Map<string, number>();
  const query = async (): Promise<number> => {
    if (admin === undefined) {
      const a = testKafka().admin();
      await a.connect();
      admin = a;
    }
    const committed = await admin.fetchOffsets({ groupId });
    const all = new Set([...topics, ...committed.map((c) => c.topic)]);
    let total = 0;
    for (const topic of all) {
      const at = new Map(
        committed.find((c) => c.topic === topic)?.partitions.map((p) => [p.partition, Number(p.offset)]) ??
          [],
      );
      for (const end of await admin.fetchTopicOffsets(topic)) {
        const high = Number(end.high);
        const offset = at.get(end.partition) ?? -1;
        total += offset < 0 ? high : Math.max(0, high - offset);
      }
    }
    return total;
  };
  return {
    unreadable,
    async read() {
      if (closed) return undefined;
      return query().catch((err: Error) => count(unreadable, `query failed: ${err.message}`));
    },
    async close() {
      closed = true;
      await admin?.disconnect();
    },
  };
}

/**
 * The sum over the pods of `eddy_effective_lag_records`. Unknown lag never counts as 0: when a pod cannot be
 * scraped, or reports NaN (a partition whose lag it has not read yet), the whole reading is undefined.
 */
export function effectiveLag(ports: () => number[], timeoutMs = 5_000): LagSignal {
  const unreadable = new Map<string, number>();
  return {
    unreadable,
    async read() {
      let total = 0;
      for (const port of ports()) {
        let text: string;
        try {
          const res = await fetch(`http://127.0.0.1:${port}/metrics`, {
            signal: AbortSignal.timeout(timeoutMs),
          });
          if (res.status !== 200) return count(unreadable, `HTTP ${res.status}`);
          text = await res.text();
        } catch (err) {
          const timedOut = (err as Error).name === 'TimeoutError';
          return count(unreadable, timedOut ? `no answer within ${timeoutMs} ms` : 'not listening');
        }
        const lag = sample(text, 'eddy_effective_lag_records');
        if (lag === undefined) return count(unreadable, 'no sample');
        if (!Number.isFinite(lag)) return count(unreadable, 'NaN: a partition’s lag not read yet');
        total += lag;
      }
      return total;
    },
    async close() {},
  };
}
