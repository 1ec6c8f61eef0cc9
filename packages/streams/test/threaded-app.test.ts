// The threaded app without a broker: loading its module, checking its configuration, and starting worker threads
// that fail (a definition that throws on one thread, brokers that refuse): one ERROR, every worker ended.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Serdes, StreamsApp, StreamsBuilder, StreamsError, ThreadedStreamsApp } from '../src/index.js';
import { codeOf } from './error-codes.js';
import { threadsIn } from './thread-states.js';

const MODULE = new URL('./fixtures/threads/apps.ts', import.meta.url);
const stateDir = () => mkdtempSync(join(tmpdir(), 'eddy-threaded-'));

async function loadCode(exportName?: string, args: string[] = []): Promise<string | undefined> {
  try {
    await ThreadedStreamsApp.load(MODULE, { args, ...(exportName === undefined ? {} : { exportName }) });
  } catch (err) {
    return err instanceof StreamsError ? err.code : `not a StreamsError: ${String(err)}`;
  }
  return undefined;
}

describe('ThreadedStreamsApp.load', () => {
  it('refuses a module that is missing, an export that is not a function, and a definition without topology', async () => {
    expect(await loadCode('notAFunction')).toBe('INVALID_APP_MODULE');
    expect(await loadCode('absent')).toBe('INVALID_APP_MODULE');
    expect(await loadCode('noTopology')).toBe('INVALID_APP_MODULE');
    await expect(
      ThreadedStreamsApp.load(new URL('./fixtures/threads/none.ts', import.meta.url)),
    ).rejects.toThrow(/cannot load the app module/);
  });

  it('checks the configuration on the main thread', async () => {
    expect(await loadCode(undefined, ['0'])).toBe('INVALID_CONFIG');
    expect(await loadCode(undefined, ['65'])).toBe('INVALID_CONFIG');
    expect(await loadCode(undefined, ['3'])).toBeUndefined();
  });

  it('a plain StreamsApp refuses numStreamThreads above 1', () => {
    const builder = new StreamsBuilder();
    const serdes = { keySerde: Serdes.string(), valueSerde: Serdes.string() };
    builder.stream('in', serdes).to('out', serdes);
    const make = (numStreamThreads: number) => () =>
      new StreamsApp(builder.build(), { applicationId: 'a', brokers: ['b:1'], numStreamThreads });
    expect(codeOf(make(2))).toBe('INVALID_CONFIG');
    expect(codeOf(make(1))).toBeUndefined();
  });
});

describe('ThreadedStreamsApp.start', () => {
  it('fails with the thread that could not build its app, and ends every worker', async () => {
    const app = await ThreadedStreamsApp.load(MODULE, {
      exportName: 'failsOnThread2',
      args: ['2', stateDir()],
    });
    const errors: StreamsError[] = [];
    app.onError((e) => errors.push(e));
    const err = await app.start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StreamsError);
    expect((err as StreamsError).code).toBe('INVALID_APP_MODULE');
    expect((err as StreamsError).message).toMatch(/stream thread 2: .*thread 2 cannot build its app/);
    expect(app.state).toBe('ERROR');
    expect(errors.map((e) => e.code)).toEqual(['INVALID_APP_MODULE']);
    // Thread 1 had built its app: it was closed.
    expect(app.streamThreads.map((t) => t.state)).toEqual(['NOT_RUNNING', 'CREATED']);
    await app.close();
    expect(app.state).toBe('ERROR');
  }, 60_000);

  it('fails like a plain app when the brokers refuse, once, and ends every thread', async () => {
    const app = await ThreadedStreamsApp.load(MODULE, { args: ['2', stateDir()] });
    const errors: StreamsError[] = [];
    app.onError((e) => errors.push(e));
    const err = await app.start().catch((e: unknown) => e);
    expect((err as StreamsError).code).toBe('BROKER_UNREACHABLE');
    expect(errors).toEqual([err]);
    expect(app.state).toBe('ERROR');
    // The first thread to fail failed the app; the other failed too or was closed while starting.
    const states = app.streamThreads.map((t) => t.state);
    expect(states).toContain('ERROR');
    for (const state of states) expect(['ERROR', 'NOT_RUNNING']).toContain(state);
    await expect(app.start()).rejects.toThrow(/needs state CREATED/);
  }, 60_000);

  it('close during start: start rejects with CLOSED_DURING_START, the app ends NOT_RUNNING, no error is reported', async () => {
    const app = await ThreadedStreamsApp.load(MODULE, {
      exportName: 'retriesForever',
      args: ['2', stateDir()],
    });
    const errors: StreamsError[] = [];
    app.onError((e) => errors.push(e));
    const started = app.start().catch((e: unknown) => e);
    // Both threads are up and trying to reach the brokers.
    await threadsIn(app, 2, 'REBALANCING');
    await app.close();
    expect(((await started) as StreamsError).code).toBe('CLOSED_DURING_START');
    expect(app.state).toBe('NOT_RUNNING');
    expect(errors).toEqual([]);
  }, 60_000);

  it('close before start ends in NOT_RUNNING without starting a thread', async () => {
    const app = await ThreadedStreamsApp.load(MODULE, { args: ['2', stateDir()] });
    await app.close();
    await app.close();
    expect(app.state).toBe('NOT_RUNNING');
    expect(app.streamThreads).toEqual([]);
  });
});
