import { describe, expect, it } from 'vitest';
import { Serdes, StreamsApp, StreamsBuilder, type StreamsConfig, StreamsError } from '../src/index.js';

function topology() {
  const b = new StreamsBuilder();
  b.stream('in', { keySerde: Serdes.string(), valueSerde: Serdes.string() }).to('out', {
    keySerde: Serdes.string(),
    valueSerde: Serdes.string(),
  });
  return b.build();
}

function configError(config: Partial<StreamsConfig>): StreamsError {
  try {
    new StreamsApp(topology(), {
      applicationId: 'app',
      brokers: ['127.0.0.1:9092'],
      ...config,
    } as StreamsConfig);
  } catch (err) {
    if (err instanceof StreamsError) return err;
    throw err;
  }
  throw new Error('expected INVALID_CONFIG');
}

describe('StreamsApp options', () => {
  it.each([
    [{ applicationId: '' }, 'applicationId'],
    [{ applicationId: 'has space' }, 'applicationId'],
    [{ brokers: [] }, 'brokers'],
    [{ brokers: ['localhost'] }, 'localhost'],
    [{ commitIntervalMs: 0 }, 'commitIntervalMs'],
    [{ commitIntervalMs: Number.NaN }, 'commitIntervalMs'],
    [{ heartbeatIntervalMs: 40_000 }, 'heartbeatIntervalMs'],
    [{ autoOffsetReset: 'middle' as never }, 'autoOffsetReset'],
  ])('rejects %o with INVALID_CONFIG naming the option', (bad, named) => {
    const err = configError(bad);
    expect(err.code).toBe('INVALID_CONFIG');
    expect(err.message).toContain(named);
  });

  it('starts in CREATED and refuses a second start', async () => {
    const app = new StreamsApp(topology(), {
      applicationId: 'app',
      brokers: ['127.0.0.1:1'],
      startTimeoutMs: 500,
      clientLogLevel: 'nothing',
    });
    expect(app.state).toBe('CREATED');
    await expect(app.start()).rejects.toMatchObject({ code: 'BROKER_UNREACHABLE' });
    await expect(app.start()).rejects.toMatchObject({ code: 'ILLEGAL_STATE' });
    await app.close();
    await app.close();
    expect(app.state).toBe('ERROR');
  });
});
