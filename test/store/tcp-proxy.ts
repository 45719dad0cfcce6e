import { createConnection, createServer, type Socket } from 'node:net';

export interface TcpProxy {
  port: number;
  /** Cuts every open connection and refuses new ones (they are accepted, then reset). */
  down(): void;
  /**
   * A network that silently drops everything: no byte goes through in either direction, open
   * connections stay open and new ones are accepted but never reach the server, until `up`.
   */
  stall(): void;
  up(): void;
  close(): Promise<void>;
}

/** A TCP proxy in front of a database, to take it away from a client and give it back. */
export async function startProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  let isDown = false;
  let isStalled = false;
  const pairs = new Set<[Socket, Socket]>();
  /** Clients accepted while stalled: connected to the server once the network is back. */
  const held = new Set<Socket>();

  const connect = (client: Socket) => {
    const upstream = createConnection({ host: targetHost, port: targetPort });
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
    client.resume();
  };

  const server = createServer((client) => {
    if (isDown) {
      client.resetAndDestroy();
      return;
    }
    if (isStalled) {
      client.pause();
      held.add(client);
      const forget = () => held.delete(client);
      client.on('error', forget).on('close', forget);
      return;
    }
    connect(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no port');
  return {
    port: address.port,
    down: () => {
      isDown = true;
      for (const [client, upstream] of pairs) {
        client.resetAndDestroy();
        upstream.destroy();
      }
      pairs.clear();
      for (const client of held) client.resetAndDestroy();
      held.clear();
    },
    stall: () => {
      isStalled = true;
      for (const [client, upstream] of pairs) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
      }
    },
    up: () => {
      isDown = false;
      if (isStalled) {
        isStalled = false;
        for (const [client, upstream] of pairs) {
          client.pipe(upstream);
          upstream.pipe(client);
          client.resume();
          upstream.resume();
        }
        for (const client of held) {
          client.removeAllListeners('error').removeAllListeners('close');
          connect(client);
        }
        held.clear();
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const [client, upstream] of pairs) {
          client.destroy();
          upstream.destroy();
        }
        for (const client of held) client.destroy();
        server.close(() => resolve());
      }),
  };
}
