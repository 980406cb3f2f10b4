// tests/proxy/ws_client.js URL SIGNALFILE MODE: a real WebSocket client (Node's WebSocket, from
// undici; Node 20 needs --experimental-websocket) for the drain test. Sends "before" and waits
// for its echo; then waits for SIGNALFILE to appear (the test sent SIGTERM to the proxy), waits
// 1 s and sends "after". MODE "stay" then keeps the socket open and idle until the other side
// closes it; "close" closes it itself. Prints one line per event with the time in seconds:
// OPEN, ECHO <text>, CLOSED <code>, ERROR <message>.
"use strict";
const fs = require("fs");
const [url, signalFile, mode] = process.argv.slice(2);
const say = (line) => console.log(`${(Date.now() / 1000).toFixed(3)} ${line}`);

const ws = new WebSocket(url);
ws.onopen = () => {
  say("OPEN");
  ws.send("before");
};
ws.onmessage = (event) => {
  say(`ECHO ${event.data}`);
  if (event.data !== "echo:before") {
    if (mode === "close") ws.close(1000);
    return;
  }
  const poll = setInterval(() => {
    if (!fs.existsSync(signalFile)) return;
    clearInterval(poll);
    setTimeout(() => ws.send("after"), 1000);
  }, 50);
};
ws.onerror = (event) => say(`ERROR ${event.message || event.type}`);
ws.onclose = (event) => {
  say(`CLOSED ${event.code}`);
  process.exit(0);
};
