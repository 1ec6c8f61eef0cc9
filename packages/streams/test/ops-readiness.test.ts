// /readyz against a bound on the consumer lag: a partition whose lag is not known yet (no fetch) is not within it.
import { afterEach, describe, expect, it } from 'vitest';
import type { AppView } from '../src/ops/app-view.js';
import { resolveHttpOptions } from '../src/ops/ops-options.js';
import { OpsServer } from '../src/ops/ops-server.js';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const servers: OpsServer[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** An operations server over a RUNNING app with no restores and the given lags per partition. */
async function serverWith(lags: [string, number | undefined][], readyMaxLag?: number): Promise<OpsServer> {
  const view = {
    state: () => 'RUNNING',
    pendingTasks: () => 0,
    consumerLags: () => new Map(lags),
  } as Partial<AppView> as AppView;
  const options = resolveHttpOptions({
    port: 0,
    host: '127.0.0.1',
    ...(readyMaxLag === undefined ? {} : { readyMaxLag }),
  });
  const server = new OpsServer(options!, view, undefined, quiet);
  servers.push(server);
  await server.listen();
  return server;
}

async function readyz(server: OpsServer): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`http://127.0.0.1:${server.address!.port}/readyz`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('/readyz and the consumer lag', () => {
  it('with http.readyMaxLag, a partition whose lag is unknown (no fetch yet) makes the instance not ready', async () => {
    const server = await serverWith(
      [
        ['in:0', 2],
        ['in:1', undefined],
      ],
      5,
    );
    expect(await readyz(server)).toEqual({
      status: 503,
      body: {
        ready: false,
        state: 'RUNNING',
        restoringTasks: 0,
        consumerLag: 2,
        reasons: [expect.stringContaining('consumer lag of 1 partition(s) is not known yet')],
      },
    });
  });

  it('with http.readyMaxLag, known lags within it are ready', async () => {
    const server = await serverWith(
      [
        ['in:0', 2],
        ['in:1', 3],
      ],
      5,
    );
    expect(await readyz(server)).toMatchObject({ status: 200, body: { ready: true, consumerLag: 5 } });
  });

  it('without a bound, an unknown lag does not matter', async () => {
    const server = await serverWith([['in:0', undefined]]);
    expect(await readyz(server)).toMatchObject({ status: 200, body: { ready: true, consumerLag: 0 } });
  });
});
