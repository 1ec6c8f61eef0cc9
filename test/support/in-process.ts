// StreamsApps run inside the test process: each one tracked is closed after its test; state directories are temporary.
import type { StreamsApp } from '@eddy/streams';
import { afterEach } from 'vitest';
import { appProcesses } from './processes.js';

export function inProcessApps(): { track<A extends StreamsApp>(app: A): A; stateDir(): string } {
  const apps: StreamsApp[] = [];
  const dirs = appProcesses();
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((a) => a.close().catch(() => undefined)));
  });
  return {
    track(app) {
      apps.push(app);
      return app;
    },
    stateDir: () => dirs.stateDir(),
  };
}
