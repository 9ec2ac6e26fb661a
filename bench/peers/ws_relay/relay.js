// The npm `ws` peer of `kefu bench chat`: the same bare protocol as the Rust
// bare relay (crates/kefu-cli/src/bench/relay.rs). The first frame is
// {"role":"agent"|"customer","agent":N}; a shopper's later frames are echoed
// back as their "ack" and forwarded unparsed to agent N. No store, no auth.
//
//   node relay.js 127.0.0.1:PORT
import { WebSocketServer } from 'ws';

const [host, port] = (process.argv[2] || '127.0.0.1:0').split(':');
const agents = new Map();
// perMessageDeflate off: neither kefu nor the Rust bare relay compress.
const server = new WebSocketServer({ host, port: Number(port), perMessageDeflate: false, maxPayload: 16 * 1024 });

server.on('connection', (ws, req) => {
  req.socket.setNoDelay(true);
  let target = null;
  let agent = null;
  let greeted = false;
  ws.on('message', (data, isBinary) => {
    if (!greeted) {
      let hello;
      try { hello = JSON.parse(data.toString()); } catch { ws.close(); return; }
      greeted = true;
      agent = hello.agent;
      if (hello.role === 'agent') agents.set(agent, ws);
      ws.send('{"type":"welcome"}');
      return;
    }
    if (isBinary) return;
    if (!target) target = agents.get(agent) || null;
    if (target) target.send(data, { binary: false });
    ws.send(data, { binary: false });
  });
  ws.on('error', () => {});
});
server.on('listening', () => console.log(`listening ${host}:${server.address().port}`));
