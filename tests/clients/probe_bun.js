// Bun's fetch with its default trust (run as `bun probe_bun.js URL TOKEN`). Bun reads the system
// store by default; its BoringSSL verifier checks name constraints.
// The URL's host must resolve to 127.0.0.1 (tests/clients/probe maps it in /etc/hosts).
// prints one line: accept | reject: DETAIL | error: DETAIL
const [url, token] = process.argv.slice(2);
// BoringSSL/Bun verification failures: these are trust verdicts, anything else is not.
const CERT_ERRORS = /CERT|UNABLE_TO_(GET_ISSUER|VERIFY)|SELF_SIGNED|SUBTREE|CONSTRAINT|_VIOLATION|HOSTNAME|ALTNAME|INVALID_CA|PATH_LENGTH/;
try {
  const res = await fetch(url, { signal: AbortSignal.timeout(10000), proxy: undefined });
  const body = await res.text();
  console.log(body.includes(token) ? 'accept' : `error: handshake ok but token missing (HTTP ${res.status})`);
} catch (e) {
  const what = `${e.code || ''} ${e.message || e}`.trim();
  console.log(CERT_ERRORS.test(what) ? `reject: ${what}` : `error: ${what}`);
}
