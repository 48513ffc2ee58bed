/**
 * Owns the choice of local ports for agents that connect from a given source
 * address (127.0.0.N in a swarm).
 *
 * Why: with a source address set, Node binds the socket before connecting, and
 * a bind to port 0 makes the kernel search the whole ephemeral range for a port
 * that conflicts with no other bound socket. That search grows with the number
 * of sockets already bound: a 100,000-agent swarm spent its time in the kernel
 * (inet_csk_get_port) and stalled near 50,000 connections. Handing out explicit
 * ports round-robin makes each bind one lookup; a port still taken (an old
 * connection in TIME_WAIT, a listener on the wildcard address) fails with
 * EADDRINUSE and the agent simply takes the next one.
 */

/** Inclusive port ranges a pool hands out: below the default ephemeral range, and above it. */
export const DEFAULT_SOURCE_PORT_RANGES: readonly (readonly [number, number])[] = [
  [1024, 32767],
  [61000, 65535],
];

export class SourcePortPool {
  private readonly ports: Uint16Array;
  private cursor: number;

  constructor(ranges: readonly (readonly [number, number])[] = DEFAULT_SOURCE_PORT_RANGES, start = 0) {
    let size = 0;
    for (const [lo, hi] of ranges) {
      if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo < 1 || hi > 65535 || lo > hi) {
        throw new RangeError(`invalid source port range ${lo}-${hi}`);
      }
      size += hi - lo + 1;
    }
    this.ports = new Uint16Array(size);
    let i = 0;
    for (const [lo, hi] of ranges) for (let p = lo; p <= hi; p++) this.ports[i++] = p;
    this.cursor = Math.abs(Math.trunc(start)) % size;
  }

  /** How many ports the pool cycles through (the most connections one source address can hold). */
  get size(): number {
    return this.ports.length;
  }

  /** The next port, round-robin: a port comes back only after every other one was handed out. */
  next(): number {
    const port = this.ports[this.cursor];
    this.cursor = (this.cursor + 1) % this.ports.length;
    return port;
  }
}

const poolsByAddress = new Map<string, SourcePortPool>();

/**
 * The process-wide pool of one source address. Starts at a random offset so
 * that a restarted swarm does not walk into its predecessor's TIME_WAIT ports.
 */
export function sourcePortPool(address: string): SourcePortPool {
  let pool = poolsByAddress.get(address);
  if (!pool) poolsByAddress.set(address, (pool = new SourcePortPool(DEFAULT_SOURCE_PORT_RANGES, Math.random() * 65536)));
  return pool;
}
