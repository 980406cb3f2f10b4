// node client with its default trust (run as `node --use-openssl-ca probe_node.js ...`).
// usage: probe_node.js URL TOKEN   (the URL's host name is resolved to 127.0.0.1)
// prints one line: accept | reject: DETAIL | error: DETAIL
'use strict';
const https = require('https');
const [url, token] = process.argv.slice(2);

// Certificate verification failures (OpenSSL verify codes and Node's own name check).
const CERT_ERRORS = new Set([
  'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'CERT_UNTRUSTED', 'CERT_REJECTED',
  'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'INVALID_CA', 'PATH_LENGTH_EXCEEDED',
  'HOSTNAME_MISMATCH', 'ERR_TLS_CERT_ALTNAME_INVALID', 'PERMITTED_SUBTREE_VIOLATION',
  'EXCLUDED_SUBTREE_VIOLATION', 'INVALID_PURPOSE', 'CERT_SIGNATURE_FAILURE',
]);

let done = false;
function finish(line) {
  if (done) return;
  done = true;
  console.log(line);
  process.exit(0);
}

function lookup(hostname, options, cb) {
  if (typeof options === 'function') { cb = options; options = {}; }
  if (options && options.all) cb(null, [{ address: '127.0.0.1', family: 4 }]);
  else cb(null, '127.0.0.1', 4);
}

const req = https.get(url, { lookup, agent: false, timeout: 10000 }, (res) => {
  let body = '';
  res.setEncoding('utf8');
  res.on('data', (c) => { body += c; });
  res.on('end', () => finish(body.includes(token)
    ? 'accept'
    : `error: handshake ok but token missing (HTTP ${res.statusCode})`));
});
req.on('timeout', () => { req.destroy(new Error('timeout')); });
req.on('error', (e) => {
  // Node reports a name-constraint violation with code UNSPECIFIED: judge by OpenSSL's message.
  if ((e.code && CERT_ERRORS.has(e.code)) || /subtree violation/.test(e.message)) finish(`reject: ${e.code}: ${e.message}`);
  else finish(`error: ${e.code || ''} ${e.message}`);
});
setTimeout(() => finish('error: overall timeout'), 15000).unref();
