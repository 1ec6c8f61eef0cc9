// Public API of @eddy/test-utils.
export {
  type TestDriverOptions,
  TestInputTopic,
  TestOutputTopic,
  type TestRecord,
  TopologyTestDriver,
} from './topology-test-driver.js';
