// Child process for idle-memory.integration-spec.ts: a WS server on 127.0.0.1
// that acknowledges every AgentToServer by echoing its instance_uid (raw
// protobuf, no decoding: field 1 is the first field the simulator writes).
const { WebSocketServer } = require('ws');

const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: true }, () => {
  process.send({ port: wss.address().port });
});
wss.on('connection', (ws) => {
  ws.on('message', (data) => {
    // data: 0x00 header, 0x0a (field 1, bytes), 0x10 (16), uid...
    if (data.length < 19 || data[1] !== 0x0a || data[2] !== 0x10) return;
    const reply = Buffer.alloc(1 + 18 + 2);
    reply[0] = 0x00;
    data.copy(reply, 1, 1, 19);
    reply[19] = 0x38; // field 7 (capabilities), varint
    reply[20] = 0x07;
    ws.send(reply, { binary: true });
  });
});
process.on('disconnect', () => process.exit(0));
