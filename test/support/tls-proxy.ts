/**
 * A TLS terminator in front of the real Temporal dev server, which has no TLS of its own: it
 * requires a client certificate issued by the given CA, offers ALPN h2 (gRPC needs it), and pipes
 * the decrypted bytes to the dev server's plain gRPC port. Handshakes it fails are recorded so a
 * test can see why a client was turned away.
 */
import net from 'node:net';
import tls from 'node:tls';

export interface TlsProxy {
  /** 127.0.0.1:PORT, the address clients dial. */
  address: string;
  /**
   * Handshakes that failed here, in order, as node reports them (code: message). A client
   * certificate from an unknown CA is not among them: node drops that connection after the handshake.
   */
  refusals: string[];
  close(): Promise<void>;
}

export interface TlsProxyOptions {
  /** The plain gRPC address behind the proxy (host:port). */
  upstream: string;
  /** PEM server certificate and key. */
  cert: Buffer | string;
  key: Buffer | string;
  /** PEM CA that client certificates must chain to. */
  clientCa: Buffer | string;
}

export async function startTlsProxy(options: TlsProxyOptions): Promise<TlsProxy> {
  const [upstreamHost, upstreamPort] = [options.upstream.slice(0, options.upstream.lastIndexOf(':')), Number(options.upstream.slice(options.upstream.lastIndexOf(':') + 1))];
  const sockets = new Set<net.Socket>();
  const refusals: string[] = [];
  const server = tls.createServer(
    { cert: options.cert, key: options.key, ca: options.clientCa, requestCert: true, rejectUnauthorized: true, ALPNProtocols: ['h2'] },
    (client) => {
      const upstream = net.connect({ host: upstreamHost, port: upstreamPort });
      for (const s of [client, upstream] as net.Socket[]) {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
      }
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
      client.pipe(upstream).pipe(client);
    },
  );
  server.on('tlsClientError', (err: NodeJS.ErrnoException) => {
    refusals.push(`${err.code ?? 'TLS_ERROR'}: ${err.message}`);
  });
  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    address: `127.0.0.1:${port}`,
    refusals,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
