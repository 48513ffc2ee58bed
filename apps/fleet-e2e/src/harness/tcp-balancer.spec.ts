import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { waitFor } from '@opamp/testing';
import { TcpBalancer } from './tcp-balancer';

/** A backend that answers every connection with its name, then echoes. */
async function backend(name: string): Promise<{ server: Server; port: number; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
    s.write(`${name}\n`);
    s.pipe(s);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { server, port: (server.address() as { port: number }).port, sockets };
}

/** Port of a server that was closed again: connections are refused. */
async function deadPort(): Promise<number> {
  const b = await backend('dead');
  await new Promise<void>((resolve) => b.server.close(() => resolve()));
  return b.port;
}

function connect(port: number): Promise<{ socket: Socket; greeting: Promise<string>; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port }, () => {
      const greeting = new Promise<string>((res) => socket.once('data', (d) => res(d.toString().trim())));
      const closed = new Promise<void>((res) => socket.once('close', () => res()));
      resolve({ socket, greeting, closed });
    });
    socket.once('error', reject);
  });
}

describe('TcpBalancer', () => {
  const servers: Server[] = [];
  let lb: TcpBalancer | undefined;

  afterEach(async () => {
    await lb?.close();
    for (const s of servers.splice(0)) await new Promise<void>((resolve) => s.close(() => resolve()));
  });

  it('spreads connections round robin and pipes both ways', async () => {
    const [a, b] = [await backend('a'), await backend('b')];
    servers.push(a.server, b.server);
    lb = new TcpBalancer([{ host: '127.0.0.1', port: a.port }, { host: '127.0.0.1', port: b.port }]);
    await lb.listen();
    const names: string[] = [];
    for (let i = 0; i < 4; i++) {
      const c = await connect(lb.port);
      names.push(await c.greeting);
      c.socket.write('ping');
      await new Promise<void>((resolve) => c.socket.once('data', (d) => (expect(d.toString()).toBe('ping'), resolve())));
      c.socket.destroy();
    }
    expect(names).toEqual(['a', 'b', 'a', 'b']);
    expect(lb.routedCounts()).toEqual({ [`127.0.0.1:${a.port}`]: 2, [`127.0.0.1:${b.port}`]: 2 });
  });

  it('skips a backend that refuses connections', async () => {
    const a = await backend('a');
    servers.push(a.server);
    lb = new TcpBalancer([{ host: '127.0.0.1', port: await deadPort() }, { host: '127.0.0.1', port: a.port }], { downForMs: 60_000 });
    await lb.listen();
    for (let i = 0; i < 3; i++) {
      const c = await connect(lb.port);
      expect(await c.greeting).toBe('a');
      c.socket.destroy();
    }
    expect(lb.refused).toBe(0);
  });

  it('closes the client side when its backend goes away', async () => {
    const a = await backend('a');
    lb = new TcpBalancer([{ host: '127.0.0.1', port: a.port }]);
    await lb.listen();
    const c = await connect(lb.port);
    expect(await c.greeting).toBe('a');
    await waitFor(() => a.sockets.size, (n) => n === 1);
    for (const s of a.sockets) s.destroy();
    a.server.close();
    await c.closed;
    await waitFor(() => lb?.connectionCounts()[`127.0.0.1:${a.port}`], (n) => n === 0, { timeoutMs: 2_000 });
  });

  it('closes a client when no backend takes it', async () => {
    lb = new TcpBalancer([{ host: '127.0.0.1', port: await deadPort() }]);
    await lb.listen();
    const c = await connect(lb.port);
    await c.closed;
    expect(lb.refused).toBe(1);
  });
});
