// The test driver as the DSL tests use it: string serdes, drivers closed after each test, outputs read with their
// timestamps.
import { afterEach } from 'vitest';
import { TopologyTestDriver } from '../../test-utils/src/index.js';
import { Serdes, type Topology } from '../src/index.js';

export const s = Serdes.string();
export const str = { keySerde: s, valueSerde: s };

const drivers: TopologyTestDriver[] = [];

/** Closes the drivers of the test file after each of its tests; call once at the top of the file. */
export function closeDriversAfterEach(): void {
  afterEach(async () => {
    for (const d of drivers.splice(0)) await d.close();
  });
}

/** A driver of `topology`, closed after the test. */
export async function driverOf(topology: Topology): Promise<TopologyTestDriver> {
  const driver = await TopologyTestDriver.create(topology);
  drivers.push(driver);
  return driver;
}

export type Out = [key: string | null, value: string | null, timestamp: number];

/** Every record of `topic` so far, with its timestamp. */
export function readOut(driver: TopologyTestDriver, topic = 'out'): Out[] {
  return driver
    .createOutputTopic(topic, s, s)
    .readRecordsToList()
    .map((r) => [r.key, r.value, r.timestamp]);
}
