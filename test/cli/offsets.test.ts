// `eddy offsets export | import | copy` as processes against the broker: the blue/green cut-over of offsets.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { committedOffsets, eddy, eddyJson, errorOf } from '../support/cli.js';
import { createTopics, testKafka, uniqueName, waitFor, withAdmin } from '../support/kafka.js';
import { appProcesses } from '../support/processes.js';

const processes = appProcesses();

describe('eddy offsets', () => {
  it('exports a group to a file, imports it into another, copies between groups, and guards both', async () => {
    const topic = uniqueName('cli-offsets');
    const blue = uniqueName('cli-blue');
    const green = uniqueName('cli-green');
    const teal = uniqueName('cli-teal');
    await createTopics([{ topic, numPartitions: 3 }]);
    const producer = testKafka().producer();
    await producer.connect();
    await producer.send({
      topic,
      messages: [0, 0, 0, 1, 1, 2].map((partition, i) => ({ partition, value: String(i) })),
    });
    await producer.disconnect();
    await withAdmin((admin) =>
      admin.setOffsets({
        groupId: blue,
        topic,
        partitions: [
          { partition: 0, offset: '3' },
          { partition: 1, offset: '1' },
          { partition: 2, offset: '0' },
        ],
      }),
    );

    const exported = await eddy(['offsets', 'export', '--group', blue]);
    expect(exported.code).toBe(0);
    expect(JSON.parse(exported.stdout)).toEqual({
      version: 1,
      group: blue,
      offsets: [
        { topic, partition: 0, offset: '3' },
        { topic, partition: 1, offset: '1' },
        { topic, partition: 2, offset: '0' },
      ],
    });
    const file = join(processes.stateDir(), 'offsets.json');
    expect(await eddyJson(['offsets', 'export', '--group', blue, '--file', file])).toEqual({
      group: blue,
      file,
      partitions: 3,
    });
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(JSON.parse(exported.stdout));

    const imported = await eddy(['offsets', 'import', '--group', green, '--file', file]);
    expect(imported.code).toBe(0);
    expect(imported.stdout).toContain(`Set offsets of group "${green}" from ${file}`);
    expect(await committedOffsets(green, topic)).toEqual(['3', '1', '0']);

    // From standard input, to the file's own group after it moved on.
    await withAdmin((admin) =>
      admin.setOffsets({ groupId: blue, topic, partitions: [{ partition: 2, offset: '1' }] }),
    );
    expect(await committedOffsets(blue, topic)).toEqual(['3', '1', '1']);
    const restored = await eddy(['offsets', 'import', '--file', '-', '--json'], exported.stdout);
    expect(restored.code).toBe(0);
    expect(await committedOffsets(blue, topic)).toEqual(['3', '1', '0']);

    const copied = await eddyJson<{ group: string; offsets: unknown[] }>([
      'offsets',
      'copy',
      '--from-group',
      blue,
      '--to-group',
      teal,
    ]);
    expect(copied.group).toBe(teal);
    expect(copied.offsets).toHaveLength(3);
    expect(await committedOffsets(teal, topic)).toEqual(['3', '1', '0']);

    // The target has a member: copy and import are refused and change nothing.
    const consumer = testKafka().consumer({ groupId: teal, sessionTimeout: 10_000 });
    await consumer.connect();
    await consumer.subscribe({ topic });
    let joined = false;
    consumer.on(consumer.events.GROUP_JOIN, () => {
      joined = true;
    });
    await consumer.run({ eachMessage: async () => undefined });
    try {
      await waitFor(() => joined, { what: 'the consumer to join the target group' });
      const refused = await eddy(['offsets', 'copy', '--from-group', green, '--to-group', teal, '--json']);
      expect(refused.code).toBe(1);
      expect(errorOf(refused.stderr).code).toBe('GROUP_NOT_EMPTY');
    } finally {
      await consumer.disconnect();
    }
  });

  it('rejects a malformed file, an unknown partition and a group without offsets', async () => {
    const dir = processes.stateDir();
    const bad = join(dir, 'bad.json');
    writeFileSync(
      bad,
      JSON.stringify({ version: 1, group: 'g', offsets: [{ topic: 't', partition: -1, offset: '0' }] }),
    );
    const malformed = await eddy(['offsets', 'import', '--file', bad, '--json']);
    expect(malformed.code).toBe(1);
    expect(errorOf(malformed.stderr)).toEqual({
      code: 'FILE_FAILED',
      message: `${bad} is not an offsets file: offsets[0] must be { topic, partition >= 0, offset >= 0 }`,
    });

    const topic = uniqueName('cli-offsets-one');
    await createTopics([{ topic, numPartitions: 1 }]);
    const beyond = join(dir, 'beyond.json');
    writeFileSync(
      beyond,
      JSON.stringify({
        version: 1,
        group: uniqueName('cli-g'),
        offsets: [{ topic, partition: 4, offset: '0' }],
      }),
    );
    const unknown = await eddy(['offsets', 'import', '--file', beyond, '--json']);
    expect(unknown.code).toBe(2);
    expect(errorOf(unknown.stderr)).toEqual({
      code: 'INVALID_ARGUMENT',
      message: `no such partition: ${topic}-4`,
    });

    const none = await eddy(['offsets', 'export', '--group', uniqueName('cli-nobody'), '--json']);
    expect(none.code).toBe(1);
    expect(errorOf(none.stderr).code).toBe('GROUP_NOT_FOUND');
  });
});
