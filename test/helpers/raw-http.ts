// Raw HTTP/1.1 over a net socket: the request goes out byte for byte (no client normalises the
// path first), the answer is read until the server closes the connection.
import net from 'node:net';

export interface RawReply {
  /** The whole answer as latin1 text. */
  raw: string;
  /** 0 when the answer had no status line. */
  status: number;
  /** Lower-case names. */
  headers: Record<string, string>;
  body: string;
}

export function parseRawReply(raw: string): RawReply {
  const end = raw.indexOf('\r\n\r\n');
  const head = end < 0 ? raw : raw.slice(0, end);
  const [statusLine, ...lines] = head.split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '');
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const c = l.indexOf(':');
    if (c > 0) headers[l.slice(0, c).trim().toLowerCase()] = l.slice(c + 1).trim();
  }
  return { raw, status: m ? Number(m[1]) : 0, headers, body: end < 0 ? '' : raw.slice(end + 4) };
}

/** Sends `data` as is (add `Connection: close`) and resolves with the answer. */
export function rawRequest(port: number, data: string | Buffer, timeoutMs = 5000): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = net.connect(port, '127.0.0.1', () => s.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data));
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no complete answer within ${timeoutMs} ms; got ${JSON.stringify(Buffer.concat(chunks).toString('latin1').slice(0, 200))}`));
    }, timeoutMs);
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('error', () => undefined);
    s.on('close', () => {
      clearTimeout(timer);
      resolve(parseRawReply(Buffer.concat(chunks).toString('latin1')));
    });
  });
}

/** `GET <target>` with a Host header and `Connection: close`, plus extra header lines. */
export function rawGet(port: number, target: string, extra: string[] = [], method = 'GET'): Promise<RawReply> {
  return rawRequest(port, [`${method} ${target} HTTP/1.1`, 'Host: 127.0.0.1', ...extra, 'Connection: close', '', ''].join('\r\n'));
}
