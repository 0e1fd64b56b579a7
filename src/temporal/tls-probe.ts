/**
 * Asks a Temporal frontend, over TLS with the options grpc-js would use, whether it accepts this
 * client: the server's verdict on a client certificate comes after the handshake (TLS 1.3), and
 * neither SDK reports it in words, so this handshake is made by hand and carried up to the first
 * HTTP/2 frame the server sends back.
 */
import tls from 'node:tls';
import { TEMPORAL_TLS_ENV, type TemporalTls } from './connection';

/** The HTTP/2 client connection preface (RFC 9113, 3.4) and an empty SETTINGS frame: what makes a gRPC server answer. */
const HTTP2_PREFACE = Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1'), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])]);

export const DEFAULT_PROBE_TIMEOUT_MS = 5_000;

/**
 * Resolves `{ refused: reason }` when the server turns this client down (or nothing listens),
 * and `{}` once it answers the HTTP/2 preface, or when it says nothing within timeoutMs.
 */
export function probeTls(address: string, settings: TemporalTls, timeoutMs = DEFAULT_PROBE_TIMEOUT_MS): Promise<{ refused?: string }> {
  const colon = address.lastIndexOf(':');
  const { config } = settings;
  return new Promise((resolve) => {
    const socket = tls.connect({
      host: address.slice(0, colon),
      port: Number(address.slice(colon + 1)),
      ALPNProtocols: ['h2'],
      ...(config.serverRootCACertificate ? { ca: Buffer.from(config.serverRootCACertificate) } : {}),
      ...(config.clientCertPair ? { cert: Buffer.from(config.clientCertPair.crt), key: Buffer.from(config.clientCertPair.key) } : {}),
      ...(config.serverNameOverride ? { servername: config.serverNameOverride } : {}),
    });
    const done = (verdict: { refused?: string }) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(verdict);
    };
    const timer = setTimeout(() => done({}), timeoutMs);
    let secure = false;
    socket.on('secureConnect', () => {
      secure = true;
      socket.write(HTTP2_PREFACE);
    });
    socket.on('data', () => done({}));
    socket.on('error', (err: NodeJS.ErrnoException) => done({ refused: explain(err) }));
    socket.on('close', () => {
      if (secure) done({ refused: `the server closed the connection after the TLS handshake without a word: it did not accept the client (${clientCertificateHint(settings)})` });
      else done({ refused: 'the connection closed before the TLS handshake finished' });
    });
  });
}

function clientCertificateHint(settings: TemporalTls): string {
  return settings.info.cert
    ? `client certificate ${settings.info.cert}: is it issued by a CA the server trusts, and still valid?`
    : `no client certificate was given: set ${TEMPORAL_TLS_ENV.cert} and ${TEMPORAL_TLS_ENV.key}`;
}

/** The TLS failure in words, with the setting that fixes it. */
function explain(err: NodeJS.ErrnoException): string {
  const code = err.code ?? '';
  const alert = /alert number (\d+)/.exec(err.message)?.[1];
  if (code === 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' || alert === '116') {
    return `the server requires a client certificate and none was given (set ${TEMPORAL_TLS_ENV.cert} and ${TEMPORAL_TLS_ENV.key})`;
  }
  if (/ALERT_(BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_UNKNOWN|CERTIFICATE_EXPIRED|CERTIFICATE_REVOKED|UNSUPPORTED_CERTIFICATE|ACCESS_DENIED)/.test(code)) {
    return `the server refused the client certificate (${err.message.trim()})`;
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return `the server's certificate is not for this name: ${err.message.trim()} (set ${TEMPORAL_TLS_ENV.serverName} to a name the certificate lists)`;
  }
  if (['SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT'].includes(code)) {
    return `the server's certificate is not trusted: ${err.message.trim()} (set ${TEMPORAL_TLS_ENV.ca} to the CA that issued it)`;
  }
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') return `the server's certificate is not valid now: ${err.message.trim()}`;
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG') return 'the server does not speak TLS on this port (a plain port?)';
  if (code === 'ECONNREFUSED') return 'nothing listens there (connection refused)';
  return `TLS handshake failed: ${code ? `${code} ` : ''}${err.message.trim()}`;
}
