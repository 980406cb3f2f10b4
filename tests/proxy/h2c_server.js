// tests/proxy/h2c_server.js PORTFILE: a plain-text HTTP/2 server (Node's http2.createServer,
// prior knowledge only: it does not speak HTTP/1.1). Answers every request with the HTTP
// version it saw, so a test can show the proxy spoke HTTP/2 to it. Writes its port to PORTFILE.
"use strict";
const fs = require("fs");
const http2 = require("http2");

const server = http2.createServer((req, res) => {
  res.setHeader("content-type", "text/plain");
  const h = req.headers;
  res.end(`h2c-upstream httpVersion=${req.httpVersion} path=${req.url} authority=${h[":authority"]} host=${h.host}\n`);
});
server.listen(0, "127.0.0.1", () => {
  const portfile = process.argv[2];
  fs.writeFileSync(portfile + ".tmp", String(server.address().port));
  fs.renameSync(portfile + ".tmp", portfile);
});
