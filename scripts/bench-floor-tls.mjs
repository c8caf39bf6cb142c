// The least a Node.js proxy terminating TLS can do per request, for the HTTPS benchmark to compare
// against: node:tls's server (the handshake, session resumption and record layer every Node.js
// program gets), and for each request that arrives, one fixed request on a kept-alive connection to
// the first member, whose answer is copied back. It parses nothing but the answer's
// Content-Length, does not route, count, log or check anything, and closes an HTTP/1.0 client's
// connection after its answer (as `openssl s_time -www` expects). One request at a time per
// connection, as wrk and s_time send them. Clients that pick h2 by ALPN get a node:http2 session
// on the same TLS connection: each stream sends the fixed request and is answered 200 with the
// member's body. Its CPU per request (per connection with a new TLS connection each time) is the
// floor of Node's TLS and HTTP/2 machinery, which no proxy on Node can go under.
// Usage: node scripts/bench-floor-tls.mjs PORT MEMBER_PORT CERT KEY
import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import { readFileSync } from 'node:fs';

const [port, memberPort] = process.argv.slice(2, 4).map(Number);
const [cert, key] = process.argv.slice(4, 6).map((f) => readFileSync(f));
const REQUEST = 'GET / HTTP/1.1\r\nHost: member\r\n\r\n';
const memberBuf = Buffer.allocUnsafe(65_536);

/** Idle member connections. */
const idle = [];

class MemberConn {
  constructor() {
    this.client = undefined;
    this.closeAfter = false;
    this.want = -1;
    this.got = 0;
    this.socket = net.connect({ host: '127.0.0.1', port: memberPort, noDelay: true, onread: { buffer: memberBuf, callback: (n, b) => this.onRead(n, b) } });
    this.socket.on('error', () => this.client?.destroy());
    this.socket.on('close', () => {
      const i = idle.indexOf(this);
      if (i >= 0) idle.splice(i, 1);
    });
  }

  /** `client` is a TLS socket (the answer is copied as it comes) or an HTTP/2 stream. */
  send(client, closeAfter) {
    this.client = client;
    this.closeAfter = closeAfter;
    this.want = -1;
    this.got = 0;
    this.socket.write(REQUEST, 'latin1');
  }

  onRead(n, b) {
    const c = this.client;
    if (!c) return;
    if (this.want < 0) {
      const s = b.latin1Slice(0, n);
      const end = s.indexOf('\r\n\r\n');
      const m = /\r\ncontent-length: *(\d+)/i.exec(s);
      this.want = end + 4 + Number(m?.[1] ?? 0);
    }
    this.got += n;
    if (c instanceof tls.TLSSocket) c.write(Buffer.from(b.subarray(0, n)));
    else (this.body ??= []).push(Buffer.from(b.subarray(0, n)));
    if (this.got >= this.want) {
      this.client = undefined;
      idle.push(this);
      if (c instanceof tls.TLSSocket) {
        if (this.closeAfter) c.end();
        return;
      }
      const all = Buffer.concat(this.body);
      this.body = undefined;
      if (c.destroyed) return;
      c.respond({ ':status': 200, 'content-type': 'text/plain' });
      c.end(all.subarray(all.indexOf('\r\n\r\n') + 4));
    }
  }
}

const h2 = http2.createServer();
h2.on('stream', (stream) => {
  stream.on('error', () => {});
  (idle.pop() ?? new MemberConn()).send(stream, false);
});

const server = tls.createServer({ cert, key, ALPNProtocols: ['h2', 'http/1.1'] }, (c) => {
  c.setNoDelay(true);
  if (c.alpnProtocol === 'h2') {
    h2.emit('connection', c);
    return;
  }
  c.on('error', () => c.destroy());
  c.on('data', (d) => (idle.pop() ?? new MemberConn()).send(c, d.includes('HTTP/1.0\r\n')));
});
server.listen(port, '127.0.0.1');
