// A TCP (layer 4) front for several Temporal frontends, the way a real deployment fronts them with a
// load balancer (HAProxy/nginx `stream`/a cloud NLB/a Kubernetes Service): each new connection goes to
// the first upstream that accepts it. TLS passes through untouched, so mTLS stays end to end between
// the client and a frontend; the proxy sees only bytes. Not a stand-in for Temporal: both upstreams are
// real temporal-server nodes.
import net from 'node:net';

export interface FailoverProxy {
  address: string;
  /** Connections accepted per upstream, in order of `upstreams`. */
  connections: number[];
  close(): Promise<void>;
}

function connectTo(upstream: string, timeoutMs: number): Promise<net.Socket> {
  const i = upstream.lastIndexOf(':');
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: upstream.slice(0, i), port: Number(upstream.slice(i + 1)) });
    const fail = (err: Error) => {
      s.destroy();
      reject(err);
    };
    s.setTimeout(timeoutMs, () => fail(new Error(`connect to ${upstream} timed out`)));
    s.once('error', fail);
    s.once('connect', () => {
      s.setTimeout(0);
      s.removeListener('error', fail);
      resolve(s);
    });
  });
}

export async function startFailoverProxy(upstreams: string[]): Promise<FailoverProxy> {
  const sockets = new Set<net.Socket>();
  const connections = upstreams.map(() => 0);
  const server = net.createServer((client) => {
    sockets.add(client);
    client.once('close', () => sockets.delete(client));
    client.pause();
    void (async () => {
      for (const [i, upstream] of upstreams.entries()) {
        try {
          const up = await connectTo(upstream, 1000);
          connections[i]!++;
          sockets.add(up);
          up.once('close', () => sockets.delete(up));
          // Either side ending ends both: a client sees its frontend die, as without the proxy.
          up.on('error', () => client.destroy());
          client.on('error', () => up.destroy());
          up.once('close', () => client.destroy());
          client.once('close', () => up.destroy());
          client.pipe(up);
          up.pipe(client);
          client.resume();
          return;
        } catch {
          // try the next frontend
        }
      }
      client.destroy();
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    connections,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
