// A small TCP load balancer for the benchmarks (reconnect storm): one listening
// port, round-robin over the live backends (gateways), every connection piped
// byte for byte. A backend that refuses or fails a connection is marked down at
// once and the client's connection is retried on the next live one (the client
// never sees it); down backends are probed every `probeMs` and come back when
// they accept again. New backends can be added at run time over IPC.
//
// One process holds two sockets per connection, so with 20,000 open files it
// carries at most `maxConnections` (default 9,000) connections: run several
// (one port each) and give agents all their endpoints; each connects to the
// backends from its own source address (127.0.1.<index+1>). (A node cluster
// sharing one port was tried first: its primary hands every accepted
// connection to a worker over IPC, one at a time per worker, and under a
// 15,000-agent ramp on 2 busy cores it queued thousands of sockets and agents
// timed out; Node 20 has no SO_REUSEPORT.)
//
//   fork(bench/lib/tcp-balancer.js, [JSON.stringify({ port, index, backends: [{host, port}], probeMs, maxConnections })])
//   IPC: -> {type:'ready'};  {cmd:'add', backend:{host,port}};  {cmd:'stats'} -> {type:'stats', ...}
const net = require('net');

const opts = JSON.parse(process.argv[2] || '{}');
opts.workerIndex = opts.index || 0;
const backends = (opts.backends || []).map((b) => ({ ...b, up: true, active: 0, total: 0, failures: 0 }));
const localAddress = `127.0.1.${1 + (opts.workerIndex || 0)}`;
let next = 0;
let active = 0;
let accepted = 0;
let noBackend = 0;

const pick = (exclude) => {
  for (let k = 0; k < backends.length; k++) {
    const b = backends[(next + k) % backends.length];
    if (b.up && !exclude.has(b)) {
      next = (next + k + 1) % backends.length;
      return b;
    }
  }
  return null;
};

const markDown = (b) => {
  if (!b.up) return;
  b.up = false;
  b.failures++;
};

const route = (client, tried) => {
  const b = pick(tried);
  if (!b) {
    noBackend++;
    client.destroy();
    return;
  }
  tried.add(b);
  const upstream = net.connect({ host: b.host, port: b.port, localAddress });
  let connected = false;
  upstream.once('connect', () => {
    connected = true;
    b.active++;
    b.total++;
    upstream.setNoDelay(true);
    client.pipe(upstream);
    upstream.pipe(client);
    client.resume();
  });
  upstream.on('error', () => {
    if (!connected) {
      markDown(b);
      upstream.destroy();
      if (!client.destroyed) route(client, tried);
    } else client.destroy();
  });
  upstream.on('close', () => {
    if (connected) {
      b.active--;
      client.destroy();
    }
  });
  client.on('error', () => upstream.destroy());
  client.on('close', () => upstream.destroy());
};

const server = net.createServer({ pauseOnConnect: true }, (client) => {
  accepted++;
  active++;
  client.setNoDelay(true);
  client.once('close', () => active--);
  route(client, new Set());
});
server.maxConnections = opts.maxConnections || 9_000;
server.listen(opts.port, opts.host || '127.0.0.1', () => process.send({ type: 'ready' }));

// Bring down backends back when they accept again.
setInterval(() => {
  for (const b of backends) {
    if (b.up) continue;
    const probe = net.connect({ host: b.host, port: b.port });
    probe.once('connect', () => {
      b.up = true;
      probe.destroy();
    });
    probe.once('error', () => probe.destroy());
  }
}, opts.probeMs || 500).unref();

process.on('message', (m) => {
  if (m.cmd === 'add') {
    if (!backends.some((b) => b.host === m.backend.host && b.port === m.backend.port)) {
      backends.push({ ...m.backend, up: true, active: 0, total: 0, failures: 0 });
    }
  } else if (m.cmd === 'stats') {
    process.send({
      type: 'stats',
      pid: process.pid,
      accepted,
      active,
      noBackend,
      backends: backends.map((b) => ({ port: b.port, up: b.up, active: b.active, total: b.total, failures: b.failures })),
    });
  }
});
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
