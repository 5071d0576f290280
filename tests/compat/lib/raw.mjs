// Raw Engine.IO v4 helpers: plain HTTP requests (node:http, so any header — Origin included — is
// sent as written) and a raw `ws` WebSocket, for tests that look below socket.io-client.
import { request } from 'node:http';
import WebSocket from 'ws';

// Resolves {status, headers, body (string)}; rejects on timeout.
export function httpRequest(url, { method = 'GET', headers = {}, body, timeoutMs = 5000 } = {}) {
  return new Promise((resolveReq, reject) => {
    const req = request(url, { method, headers, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolveReq({ status: res.statusCode, headers: res.headers,
        body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`HTTP ${method} ${url} timed out after ${timeoutMs}ms`)));
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

export const eioUrl = (base, query) => `${base}/socket.io/?${new URLSearchParams(query)}`;

// Engine.IO polling handshake; resolves the parsed open packet ({sid, upgrades, pingInterval, ...}).
export async function pollingHandshake(base, headers = {}) {
  const res = await httpRequest(eioUrl(base, { EIO: '4', transport: 'polling' }), { headers });
  if (res.status !== 200 || res.body[0] !== '0') throw new Error(`handshake failed: ${res.status} ${res.body}`);
  return { ...JSON.parse(res.body.slice(1)), response: res };
}

// A raw websocket Engine.IO connection. `messages` is an async queue of received text frames.
export function rawWebSocket(base, query = { EIO: '4', transport: 'websocket' }) {
  const url = eioUrl(base.replace(/^http/, 'ws'), query);
  const ws = new WebSocket(url);
  const queue = [];
  const waiters = [];
  ws.on('message', (data, isBinary) => {
    const msg = isBinary ? data : data.toString('utf8');
    const w = waiters.shift();
    if (w) w.resolve(msg); else queue.push(msg);
  });
  let closeInfo = null;
  const closed = new Promise((resolveClose) => ws.on('close', (code, reason) => {
    closeInfo = { code };
    for (const w of waiters.splice(0)) w.reject(new Error(`socket closed (${code}) while waiting for a message`));
    resolveClose({ code, reason: reason.toString(), at: Date.now() });
  }));
  ws.on('error', () => { /* surfaced through `closed` */ });
  return {
    ws,
    closed,
    opened: new Promise((resolveOpen, reject) => {
      ws.once('open', resolveOpen);
      // A refused upgrade surfaces as an error "Unexpected server response: <status>", then close.
      ws.once('error', reject);
    }),
    next(timeoutMs = 5000) {
      if (queue.length) return Promise.resolve(queue.shift());
      if (closeInfo) return Promise.reject(new Error(`socket closed (${closeInfo.code}) while waiting for a message`));
      return new Promise((resolveMsg, reject) => {
        const w = { resolve: (m) => { clearTimeout(timer); resolveMsg(m); }, reject: (e) => { clearTimeout(timer); reject(e); } };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error(`no websocket message within ${timeoutMs}ms`));
        }, timeoutMs);
        waiters.push(w);
      });
    },
    send(text) { ws.send(text); },
    close() { ws.terminate(); },
  };
}
