// The Herald quickstart demo page: chat rooms, typing indicator, online users, notifications.
//
// It uses the unmodified socket.io-client browser bundle (global `io`, loaded by index.html) against
// Herald's /chat namespace, whose policy (config/standalone.yaml) decides what each event does:
//   join / leave {room}          → action join / leave (rooms "lobby" and "room:*")
//   message {room, from, text}   → relay to the room, text 1..2000 characters (else VALIDATION_FAILED)
//   typing {room, from}          → relay, volatile, except_sender
// and talks to the demo backend (config.json → backend) for tokens, members and notifications.
/* global io */

const $ = (id) => document.getElementById(id);
const DEFAULT_ROOMS = ['lobby', 'room:general', 'room:random'];
const TYPING_SEND_EVERY_MS = 1500;
const TYPING_SHOW_MS = 3000;
const ACK_TIMEOUT_MS = 5000;

const state = {
  config: null,
  me: '',
  ttl: 3600,
  token: '',
  expiresAt: 0,
  expiryWarned: false,
  socket: null,
  joined: [],                 // rooms, in join order
  current: '',                // the room shown
  messages: new Map(),        // room → [{from, text, mine}]
  typing: new Map(),          // room → Map(user → timer)
  members: new Map(),         // room → [users]
  lastTypingSent: 0,
  countdown: null,
};

// ---------------------------------------------------------------------------------------------
// Backend (tokens, members, notifications).

async function backend(method, path, body) {
  const headers = { 'content-type': 'application/json' };
  if (state.token) headers.authorization = `Bearer ${state.token}`;
  const res = await fetch(state.config.backend + path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json().catch(() => ({}));
  if (!res.ok) {
    const err = new Error(json.error?.message || `HTTP ${res.status}`);
    err.code = json.error?.code || `HTTP_${res.status}`;
    throw err;
  }
  return json;
}

async function mintToken() {
  const t = await backend('POST', '/api/token', { name: state.me, ttl_s: state.ttl });
  state.token = t.token;
  state.expiresAt = t.expires_at_ms;
  state.expiryWarned = false;
}

// ---------------------------------------------------------------------------------------------
// Connection state and banners.

function setStatus(s, detail = '') {
  const el = $('status');
  el.dataset.state = s;
  el.textContent = detail ? `${s} — ${detail}` : s;
}

function showBanner(text, { renew = false, signInAgain = false, kind = 'warn' } = {}) {
  $('banner').hidden = false;
  $('banner').dataset.kind = kind;
  $('banner-text').textContent = text;
  $('renew').hidden = !renew;
  $('sign-in-again').hidden = !signInAgain;
}

function hideBanner() {
  clearInterval(state.countdown);
  state.countdown = null;
  $('banner').hidden = true;
}

function tokenExpiredBanner() {
  clearInterval(state.countdown);
  showBanner('Your token expired and Herald closed the connection. Sign in again to get a new one.',
    { signInAgain: true, kind: 'error' });
}

// ---------------------------------------------------------------------------------------------
// Socket.IO.

function connect() {
  // Same origin as the page: Herald's edge serves both /demo/ and /socket.io/.
  const socket = io(state.config.namespace, {
    auth: (cb) => cb({ token: state.token }),  // read on every (re)connect
  });
  state.socket = socket;
  window.demoSocket = socket;  // for poking around in the console
  setStatus('connecting');

  socket.on('connect', async () => {
    setStatus('connected');
    if (!state.expiryWarned) hideBanner();
    // A new session starts with only its auto_join rooms: (re)join what we had.
    const rooms = state.joined.length ? [...state.joined] : ['lobby'];
    state.joined = [];
    for (const room of rooms) await join(room, { select: room === (state.current || rooms[0]) });
    if (!state.current && state.joined.length) select(state.joined[0]);
  });
  socket.on('disconnect', (reason) => {
    state.members.clear();  // no longer known; the next connect fetches them again
    renderMembers();
    if (socket.active) {
      setStatus('reconnecting', reason);
      return;
    }
    setStatus('disconnected', reason);
    if (reason === 'io server disconnect' && (state.expiryWarned || Date.now() >= state.expiresAt)) {
      tokenExpiredBanner();
    } else if (reason === 'io server disconnect') {
      showBanner('Herald closed the connection.', { signInAgain: true, kind: 'error' });
    }
  });
  socket.io.on('reconnect_attempt', (n) => setStatus('reconnecting', `attempt ${n}`));
  socket.on('connect_error', (err) => {
    const code = err.data?.code;
    if (socket.active) {
      setStatus('reconnecting', err.message);
      return;
    }
    setStatus('disconnected', code || err.message);
    if (code === 'EXPIRED_TOKEN') tokenExpiredBanner();
    else showBanner(`Herald refused the connection: ${code ? `${code} — ` : ''}${err.message}`,
      { signInAgain: true, kind: 'error' });
  });

  // auth.on_expiry: grace → Herald warns, then disconnects at disconnect_at_ms unless we refresh.
  socket.on('herald:token_expired', (info) => {
    state.expiryWarned = true;
    const at = info?.disconnect_at_ms || Date.now();
    const tick = () => {
      const left = Math.max(0, Math.ceil((at - Date.now()) / 1000));
      showBanner(`Your token expired. Herald will disconnect you in ${left} s unless you renew it.`,
        { renew: true });
    };
    tick();
    clearInterval(state.countdown);
    state.countdown = setInterval(tick, 1000);
  });

  socket.on('message', (msg) => {
    if (!msg || typeof msg.room !== 'string') return;
    addMessage(msg.room, { from: String(msg.from), text: String(msg.text), mine: msg.from === state.me });
    stopTyping(msg.room, msg.from);
  });
  socket.on('typing', (t) => {
    if (!t || typeof t.room !== 'string') return;
    startTyping(t.room, String(t.from));
  });
  socket.on('members', (m) => {
    if (!m || typeof m.room !== 'string' || !Array.isArray(m.users)) return;
    setMembers(m.room, m.users);
  });
  socket.on('notification', (n) => addNotification(n || {}));
  socket.on('error', (e) => showAckError(e));  // refusals of events sent without an ack
}

function emitWithAck(event, payload) {
  return new Promise((resolveAck) => {
    state.socket.timeout(ACK_TIMEOUT_MS).emit(event, payload, (err, ack) => {
      if (err) resolveAck({ error: { code: 'TIMEOUT', message: `no answer within ${ACK_TIMEOUT_MS} ms` } });
      else resolveAck(ack || {});
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Rooms.

async function join(room, { select: selectIt = true } = {}) {
  const ack = await emitWithAck('join', { room });
  if (ack.error) {
    showAckError(ack.error);
    return;
  }
  if (!state.joined.includes(room)) state.joined.push(room);
  if (!state.messages.has(room)) state.messages.set(room, []);
  if (selectIt) select(room);
  renderRooms();
  try {
    const m = await backend('GET', `/api/members?room=${encodeURIComponent(room)}`);
    setMembers(m.room, m.users);
  } catch (e) {
    console.warn('members', e);
  }
}

async function leave(room) {
  const ack = await emitWithAck('leave', { room });
  if (ack.error) {
    showAckError(ack.error);
    return;
  }
  state.joined = state.joined.filter((r) => r !== room);
  state.members.delete(room);
  if (state.current === room) select(state.joined[0] || '');
  renderRooms();
}

function select(room) {
  state.current = room;
  $('room-title').textContent = room ? `# ${room}` : 'Not in a room';
  $('send').disabled = !room;
  renderRooms();
  renderMessages();
  renderTyping();
  renderMembers();
}

function renderRooms() {
  const ul = $('rooms');
  ul.replaceChildren();
  const all = [...new Set([...DEFAULT_ROOMS, ...state.joined])];
  for (const room of all) {
    const li = document.createElement('li');
    li.dataset.room = room;
    const joined = state.joined.includes(room);
    li.className = `${joined ? 'joined' : ''} ${room === state.current ? 'current' : ''}`;
    const name = document.createElement('button');
    name.type = 'button';
    name.className = 'room-name link';
    name.textContent = `# ${room}`;
    name.disabled = !joined;
    name.onclick = () => select(room);
    const action = document.createElement('button');
    action.type = 'button';
    action.className = joined ? 'room-leave' : 'room-join';
    action.textContent = joined ? 'leave' : 'join';
    action.onclick = () => (joined ? leave(room) : join(room));
    li.append(name, action);
    ul.append(li);
  }
}

// ---------------------------------------------------------------------------------------------
// Messages, typing, members, notifications.

function addMessage(room, msg) {
  if (!state.messages.has(room)) state.messages.set(room, []);
  const list = state.messages.get(room);
  list.push(msg);
  if (list.length > 200) list.shift();
  if (room === state.current) renderMessages();
}

function renderMessages() {
  const ol = $('messages');
  ol.replaceChildren();
  for (const m of state.messages.get(state.current) || []) {
    const li = document.createElement('li');
    li.className = m.mine ? 'mine' : '';
    li.dataset.from = m.from;
    const from = document.createElement('span');
    from.className = 'from';
    from.textContent = m.from;
    const text = document.createElement('span');
    text.className = 'text';
    text.textContent = m.text;
    li.append(from, text);
    ol.append(li);
  }
  ol.scrollTop = ol.scrollHeight;
}

function startTyping(room, user) {
  if (!state.typing.has(room)) state.typing.set(room, new Map());
  const users = state.typing.get(room);
  clearTimeout(users.get(user));
  users.set(user, setTimeout(() => stopTyping(room, user), TYPING_SHOW_MS));
  if (room === state.current) renderTyping();
}

function stopTyping(room, user) {
  const users = state.typing.get(room);
  if (!users || !users.has(user)) return;
  clearTimeout(users.get(user));
  users.delete(user);
  if (room === state.current) renderTyping();
}

function renderTyping() {
  const users = [...(state.typing.get(state.current)?.keys() || [])];
  $('typing').textContent = users.length === 0 ? ''
    : `${users.join(', ')} ${users.length === 1 ? 'is' : 'are'} typing…`;
}

function setMembers(room, users) {
  state.members.set(room, [...users].sort());
  if (room === state.current) renderMembers();
  const dl = $('notify-users');
  dl.replaceChildren();
  const everyone = new Set([...state.members.values()].flat());
  for (const u of everyone) {
    const o = document.createElement('option');
    o.value = u;
    dl.append(o);
  }
}

function renderMembers() {
  $('members-room').textContent = state.current || '—';
  const ul = $('members');
  ul.replaceChildren();
  for (const u of state.members.get(state.current) || []) {
    const li = document.createElement('li');
    li.dataset.user = u;
    li.textContent = u === state.me ? `${u} (you)` : u;
    ul.append(li);
  }
}

function addNotification(n) {
  const li = document.createElement('li');
  const from = document.createElement('strong');
  from.textContent = n.from ? `${n.from}: ` : '';
  const text = document.createElement('span');
  text.className = 'text';
  text.textContent = String(n.text ?? '');
  const at = document.createElement('time');
  at.textContent = new Date(n.at || Date.now()).toLocaleTimeString();
  li.append(from, text, at);
  $('notifications').prepend(li);
}

function showAckError(error) {
  const e = error || {};
  $('error').hidden = false;
  $('error-code').textContent = e.code || 'ERROR';
  $('error-message').textContent = e.message || '';
  const ul = $('error-details');
  ul.replaceChildren();
  for (const d of Array.isArray(e.details) ? e.details : e.details ? [e.details] : []) {
    const li = document.createElement('li');
    li.textContent = typeof d === 'object' && d.field !== undefined
      ? `${d.field}: ${d.message || d.rule}` : JSON.stringify(d);
    ul.append(li);
  }
}

// ---------------------------------------------------------------------------------------------
// UI wiring.

async function signIn(name, ttl) {
  state.me = name;
  state.ttl = ttl;
  $('sign-in-error').hidden = true;
  try {
    await mintToken();
  } catch (e) {
    $('sign-in-error').hidden = false;
    $('sign-in-error').textContent = `Could not get a token: ${e.message}`;
    return;
  }
  $('sign-in').hidden = true;
  $('app').hidden = false;
  $('who').hidden = false;
  $('me').textContent = name;
  renderRooms();
  select('');
  connect();
}

function signOut() {
  state.socket?.disconnect();
  state.socket = null;
  Object.assign(state, { token: '', joined: [], current: '', expiryWarned: false });
  state.messages.clear();
  state.members.clear();
  state.typing.clear();
  $('notifications').replaceChildren();
  $('error').hidden = true;
  hideBanner();
  $('app').hidden = true;
  $('who').hidden = true;
  $('sign-in').hidden = false;
  setStatus('signed-out');
}

async function sendMessage() {
  if (!state.current || !state.socket) return;
  const text = $('text').value;
  const ack = await emitWithAck('message', { room: state.current, from: state.me, text });
  if (ack.error) {
    showAckError(ack.error);
    return;
  }
  $('error').hidden = true;
  $('text').value = '';
  state.lastTypingSent = 0;
}

function wire() {
  $('sign-in-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    signIn($('name').value.trim(), Number($('ttl').value));
  });
  $('sign-out').onclick = signOut;
  $('sign-in-again').onclick = () => {
    const name = state.me;
    signOut();
    $('name').value = name;
  };
  $('renew').onclick = async () => {
    state.ttl = Number($('ttl').value) || state.ttl;  // the sign-in form's lifetime choice
    try {
      await mintToken();
    } catch (e) {
      showBanner(`Could not renew the token: ${e.message}`, { signInAgain: true, kind: 'error' });
      return;
    }
    const ack = await emitWithAck('herald:refresh_token', { token: state.token });
    if (ack.error) {
      showBanner(`Herald refused the new token: ${ack.error.code}`, { signInAgain: true, kind: 'error' });
      return;
    }
    hideBanner();
  };
  $('join-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const room = $('join-room').value.trim();
    if (room) join(room);
    $('join-room').value = '';
  });
  $('message-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    sendMessage();
  });
  $('text').addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && !ev.shiftKey) {
      ev.preventDefault();
      sendMessage();
    }
  });
  $('text').addEventListener('input', () => {
    const now = Date.now();
    if (!state.socket?.connected || !state.current || !$('text').value) return;
    if (now - state.lastTypingSent < TYPING_SEND_EVERY_MS) return;
    state.lastTypingSent = now;
    state.socket.volatile.emit('typing', { room: state.current, from: state.me });
  });
  $('notify-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const user = $('notify-user').value.trim();
    const text = $('notify-text').value.trim();
    try {
      const r = await backend('POST', '/api/notify', { user, text });
      $('notify-result').textContent = `Pushed to ${user}: ${r.sockets} socket(s) reached.`;
      $('notify-text').value = '';
    } catch (e) {
      $('notify-result').textContent = `Not sent: ${e.message}`;
    }
  });
}

async function main() {
  state.config = { namespace: '/chat', ...(await (await fetch('config.json')).json()) };
  wire();
  const params = new URLSearchParams(location.search);
  if (params.get('name')) $('name').value = params.get('name');
}

main().catch((e) => {
  setStatus('disconnected', 'demo not configured');
  showBanner(`The demo could not start: ${e.message} (is config.json there? start it with ./scripts/run)`,
    { kind: 'error' });
});
