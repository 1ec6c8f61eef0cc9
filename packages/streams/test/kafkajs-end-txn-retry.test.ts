// The patched kafkajs transaction commit (docs/kafkajs-patch.md): an EndTxn that meets a moved transaction coordinator
// looks the coordinator up again and commits there, instead of failing the transaction; one answered with the
// broker's internal error (as when it races the fencing of its epoch) is sent again and learns that it was fenced.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
type EosManager = {
  initProducerId(): Promise<void>;
  beginTransaction(): void;
  addPartitionsToTransaction(
    topicData: { topic: string; partitions: { partition: number }[] }[],
  ): Promise<void>;
  commit(): Promise<void>;
};
const createEosManager = require('kafkajs/src/producer/eosManager/index.js') as (
  options: object,
) => EosManager;
const { createErrorFromCode } = require('kafkajs/src/protocol/error.js') as {
  createErrorFromCode(code: number): Error;
};
const NOT_COORDINATOR = 16;
const UNKNOWN_SERVER_ERROR = -1;
const INVALID_PRODUCER_EPOCH = 47;

describe('kafkajs transaction commit after the transaction coordinator moved', () => {
  it('sends EndTxn again to the coordinator looked up again', async () => {
    const endTxns: { nodeId: number; transactionResult: boolean }[] = [];
    const broker = (nodeId: number, moved: boolean) => ({
      nodeId,
      initProducerId: async () => ({ producerId: 7, producerEpoch: 0 }),
      addPartitionsToTxn: async () => {},
      endTxn: async ({ transactionResult }: { transactionResult: boolean }) => {
        endTxns.push({ nodeId, transactionResult });
        if (moved) throw createErrorFromCode(NOT_COORDINATOR);
      },
    });
    // The coordinator is node 1 until its EndTxn answered NOT_COORDINATOR; from then on node 2.
    const old = broker(1, true);
    const successor = broker(2, false);
    const cluster = {
      retry: { retries: 3, initialRetryTime: 1, maxRetryTime: 1 },
      refreshMetadataIfNecessary: async () => {},
      findGroupCoordinator: async () => (endTxns.length === 0 ? old : successor),
    };
    const logger = { debug() {}, info() {}, warn() {}, error() {} };
    const eos = createEosManager({ logger, cluster, transactional: true, transactionalId: 'app-0_1' });
    await eos.initProducerId();
    eos.beginTransaction();
    await eos.addPartitionsToTransaction([{ topic: 'counts', partitions: [{ partition: 0 }] }]);
    await eos.commit();
    expect(endTxns).toEqual([
      { nodeId: 1, transactionResult: true },
      { nodeId: 2, transactionResult: true },
    ]);
  });

  it('sends EndTxn again after an internal error of the coordinator, and rejects with the fencing it then reports', async () => {
    const answers = [UNKNOWN_SERVER_ERROR, INVALID_PRODUCER_EPOCH];
    let sent = 0;
    const coordinator = {
      nodeId: 1,
      initProducerId: async () => ({ producerId: 7, producerEpoch: 0 }),
      addPartitionsToTxn: async () => {},
      endTxn: async () => {
        sent++;
        throw createErrorFromCode(answers.shift()!);
      },
    };
    const cluster = {
      retry: { retries: 3, initialRetryTime: 1, maxRetryTime: 1 },
      refreshMetadataIfNecessary: async () => {},
      findGroupCoordinator: async () => coordinator,
    };
    const logger = { debug() {}, info() {}, warn() {}, error() {} };
    const eos = createEosManager({ logger, cluster, transactional: true, transactionalId: 'app-0_1' });
    await eos.initProducerId();
    eos.beginTransaction();
    await eos.addPartitionsToTransaction([{ topic: 'counts', partitions: [{ partition: 0 }] }]);
    await expect(eos.commit()).rejects.toMatchObject({ type: 'INVALID_PRODUCER_EPOCH' });
    expect(sent).toBe(2);
  });
});
