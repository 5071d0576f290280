// Edge TLS (edge.tls.mode on | detect): socket.io-client over HTTPS polling and wss, the upgrade
// between them across shards, both kinds of client on one port in detect mode, and a refused
// plaintext client in mode on. Certificates are minted at test time with the openssl CLI.
// Herald-only.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io } from 'socket.io-client';
import { startHerald, defaultConfig } from './lib/herald.mjs';
import { targetName, connected } from './lib/targets.mjs';

function mintCertificates(dir) {
  const run = (...args) => execFileSync('openssl', args, { stdio: 'ignore' });
  run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=herald-test-ca',
    '-keyout', join(dir, 'ca.key'), '-out', join(dir, 'ca.pem'));
  writeFileSync(join(dir, 'leaf.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  run('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost',
    '-keyout', join(dir, 'edge.key'), '-out', join(dir, 'edge.csr'));
  run('x509', '-req', '-days', '2', '-in', join(dir, 'edge.csr'), '-CA', join(dir, 'ca.pem'),
    '-CAkey', join(dir, 'ca.key'), '-CAcreateserial', '-extfile', join(dir, 'leaf.ext'),
    '-out', join(dir, 'edge.pem'));
  return readFileSync(join(dir, 'ca.pem'));
}

const tlsConfig = (dir, mode) => defaultConfig({
  edge: { shards: 2, tls: { mode, cert_file: join(dir, 'edge.pem'), key_file: join(dir, 'edge.key') } },
  namespaces: { '/anon': { auth: 'none' } },
});

describe('edge TLS [herald]', { skip: targetName !== 'herald' && 'herald only' }, () => {
  let dir;
  let ca;
  const sockets = [];
  const client = (url, opts) => {
    const s = io(`${url}/anon`, { forceNew: true, reconnection: false, ca, ...opts });
    sockets.push(s);
    return s;
  };
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'herald-tls-'));
    ca = mintCertificates(dir);
  });
  after(() => {
    for (const s of sockets) s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('mode on: wss, HTTPS polling, and the upgrade from one to the other', async () => {
    const herald = await startHerald(tlsConfig(dir, 'on'));
    try {
      assert.match(herald.url, /^https:\/\//);
      for (const transports of [['websocket'], ['polling']]) {
        const s = client(herald.url, { transports });
        await connected(s);
        assert.equal(s.io.engine.transport.name, transports[0]);
      }
      // Default transports: polling first, then the upgrade (several requests, any shard).
      for (let i = 0; i < 4; i++) {
        const s = client(herald.url, {});
        await connected(s);
        await new Promise((r) => (s.io.engine.transport.name === 'websocket' ? r() : s.io.engine.once('upgrade', r)));
        assert.equal(s.io.engine.transport.name, 'websocket');
      }
      // Plaintext on the TLS port does not get a session.
      const plain = client(herald.url.replace('https://', 'http://'), { transports: ['polling'], timeout: 1500 });
      await assert.rejects(connected(plain, 3000));
    } finally {
      await herald.stop();
    }
  });

  test('mode detect: TLS and plaintext clients on the same port', async () => {
    const herald = await startHerald(tlsConfig(dir, 'detect'));
    try {
      const port = new URL(herald.url).port;
      const secure = client(`https://localhost:${port}`, { transports: ['websocket'] });
      const plain = client(`http://127.0.0.1:${port}`, { transports: ['websocket'] });
      const securePolling = client(`https://127.0.0.1:${port}`, { transports: ['polling'] });
      await Promise.all([connected(secure), connected(plain), connected(securePolling)]);
    } finally {
      await herald.stop();
    }
  });
});
