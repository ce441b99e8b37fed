import { ListStreamsCommand } from '@aws-sdk/client-kinesis';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { connect } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { createDynamoClient, createKinesisClient } from '../sources/kinesis/index.ts';
import { startDynalite, startKinesalite } from '../sources/kinesis/testing/servers.ts';
import { createStream, startEmbedded } from './embedded.ts';
import { useFakeAws } from './testing.ts';

afterAll(useFakeAws());

/** Resolves true when something accepts a TCP connection on 127.0.0.1:port. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

describe('startEmbedded', () => {
  it('serves Kinesis on 127.0.0.1 at the port it reports, and stop() cuts kept-alive SDK connections', async () => {
    const server = await startEmbedded('kinesalite');
    expect(server.endpoint).toBe(`http://127.0.0.1:${server.port}`);
    const kinesis = createKinesisClient({ endpoint: server.endpoint, region: 'us-east-1' });
    try {
      await createStream(kinesis, 'embedded-test', 2);
      const out = await kinesis.send(new ListStreamsCommand({}));
      expect(out.StreamNames).toEqual(['embedded-test']);
      // The client still holds a keep-alive socket: stop() must not wait for it.
      await server.stop();
      expect(await accepts(server.port)).toBe(false);
    } finally {
      kinesis.destroy();
    }
  });

  it("passes the emulator's own options through (the source tests' settings differ from the demo's)", async () => {
    const server = await startEmbedded('kinesalite', { createStreamMs: 0, shardLimit: 1 });
    const kinesis = createKinesisClient({ endpoint: server.endpoint, region: 'us-east-1' });
    try {
      await expect(createStream(kinesis, 'too-wide', 2)).rejects.toMatchObject({ name: 'LimitExceededException' });
      await createStream(kinesis, 'narrow', 1);
    } finally {
      kinesis.destroy();
      await server.stop();
    }
  });

  it('is what the Kinesis source tests start in process', async () => {
    const [kinesalite, dynalite] = [await startKinesalite(), await startDynalite()];
    const kinesis = createKinesisClient({ endpoint: kinesalite.endpoint, region: 'us-east-1' });
    const dynamodb = createDynamoClient({ endpoint: dynalite.endpoint, region: 'us-east-1' });
    try {
      expect(kinesalite.endpoint).toBe(`http://127.0.0.1:${kinesalite.port}`);
      expect((await kinesis.send(new ListStreamsCommand({}))).StreamNames).toEqual([]);
      expect((await dynamodb.send(new ListTablesCommand({}))).TableNames).toEqual([]);
    } finally {
      kinesis.destroy();
      dynamodb.destroy();
      await Promise.all([kinesalite.stop(), dynalite.stop()]);
    }
    expect(await accepts(kinesalite.port)).toBe(false);
    expect(await accepts(dynalite.port)).toBe(false);
  });
});
