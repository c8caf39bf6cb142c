// The least a Node.js proxy can do per request, for the benchmark to compare against: each client
// connection gets one connection to the first member, and bytes are copied both ways as they
// come, without parsing anything (so it only works for one request at a time per connection, as
// wrk sends them). Both sides read with `onread` into a shared buffer and write a copy, as the
// lean engine's member connections do; writes are made at once. It does not route, count, log or
// check anything: its CPU per request is the floor of Node's socket machinery (two reads and two
// writes per request), which no proxy written in JavaScript on Node can go under.
// Usage: node scripts/bench-floor.mjs PORT MEMBER_PORT
import net from 'node:net';

const [port, memberPort] = process.argv.slice(2).map(Number);
const clientBuf = Buffer.allocUnsafe(65_536);
const memberBuf = Buffer.allocUnsafe(65_536);

const server = net.createServer({ noDelay: true, pauseOnConnect: true }, (accepted) => {
  let c;
  const member = net.connect({
    host: '127.0.0.1',
    port: memberPort,
    noDelay: true,
    onread: { buffer: memberBuf, callback: (n, b) => void c.write(b.latin1Slice(0, n), 'latin1') },
  });
  // An accepted socket cannot be given `onread`: a new Socket takes over its handle.
  c = new net.Socket({ handle: accepted._handle, onread: { buffer: clientBuf, callback: (n, b) => void member.write(b.latin1Slice(0, n), 'latin1') } });
  c.on('error', () => member.destroy());
  c.on('close', () => member.destroy());
  member.on('error', () => c.destroy());
  member.on('close', () => c.destroy());
});
server.listen(port, '127.0.0.1');
