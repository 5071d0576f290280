// The quickstart demo (examples/demo) in a real headless browser: Debian's chromium driven by
// playwright-core, two independent browser contexts as two users (alice and bob) against Herald +
// the demo backend started on free ports (lib/stack.mjs). Screenshots go to tests/browser/artifacts/.
//
//   HERALD_BIN_DIR=build/ci node --test tests/browser/      (./scripts/test runs it)
//   CHROMIUM=/path/to/chromium                              another browser binary
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startDemoStack } from './lib/stack.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const artifacts = join(here, 'artifacts');
mkdirSync(artifacts, { recursive: true });

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
// Playwright gives every launch a fresh temporary profile (--user-data-dir) and deletes it on close;
// it refuses an explicit --user-data-dir for launch().
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const T = 10000;  // per expectation

let stack;
let browser;
const contexts = [];
const pageErrors = [];

async function openAs(name, { ttl } = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 620 } });
  contexts.push(context);
  const page = await context.newPage();
  page.setDefaultTimeout(T);
  page.on('pageerror', (e) => pageErrors.push(`${name}: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(`${name} console: ${m.text()}`); });
  await page.goto(stack.demoUrl);
  await page.fill('#name', name);
  if (ttl) {
    // A token lifetime the page does not offer: the select is just the ttl_s sent to the backend.
    await page.$eval('#ttl', (sel, v) => { sel.add(new Option(`${v} s`, String(v))); sel.value = String(v); }, ttl);
  }
  await page.click('#sign-in-button');
  await page.waitForSelector('#status[data-state="connected"]');
  await page.waitForSelector('#rooms li.current[data-room="lobby"]');
  return page;
}

const shot = (page, name) => page.screenshot({ path: join(artifacts, `${name}.png`) });

async function withShotOnFailure(pages, name, fn) {
  try {
    await fn();
  } catch (e) {
    for (const [who, p] of Object.entries(pages)) await shot(p, `FAILED-${name}-${who}`).catch(() => {});
    if (pageErrors.length) e.message += `\npage errors:\n${pageErrors.join('\n')}`;
    throw e;
  }
}

before(async () => {
  stack = await startDemoStack();
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
});

after(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close().catch(() => {});
  await stack?.stop();
});

test('the page, its socket.io-client bundle and config are served by the edge under /demo/', async () => {
  const html = await (await fetch(stack.demoUrl)).text();
  assert.match(html, /vendor\/socket\.io\.min\.js/);
  const bundle = await fetch(`${stack.demoUrl}vendor/socket.io.min.js`);
  assert.equal(bundle.status, 200);
  assert.match(await bundle.text(), /Socket\.IO v4\.8\.3/);
  const cfg = await (await fetch(`${stack.demoUrl}config.json`)).json();
  assert.equal(cfg.backend, stack.backendUrl);
  // Path traversal stays refused.
  assert.equal((await fetch(`${stack.demoUrl}..%2f..%2fetc%2fpasswd`)).status >= 400, true);
});

test('two users: presence, chat, typing, notifications, validation errors', async () => {
  const alice = await openAs('alice');
  const bob = await openAs('bob');
  const pages = { alice, bob };

  await withShotOnFailure(pages, 'presence', async () => {
    // Online users come from Herald's ListRoomMembers (polled by the backend, "members" broadcasts).
    await alice.waitForSelector('#members li[data-user="bob"]');
    await bob.waitForSelector('#members li[data-user="alice"]');
    await alice.waitForSelector('#members li[data-user="alice"]');
    assert.equal(await alice.textContent('#status'), 'connected');
  });

  await withShotOnFailure(pages, 'typing', async () => {
    await bob.click('#text');
    await bob.keyboard.type('hello from bob', { delay: 15 });
    // Shown for alice…
    await alice.waitForFunction(() => document.querySelector('#typing').textContent.includes('bob is typing'));
    await shot(alice, '01-alice-sees-bob-typing');
    // …never for bob (except_sender), though he typed.
    await bob.waitForTimeout(500);
    assert.equal(await bob.textContent('#typing'), '');
  });

  await withShotOnFailure(pages, 'chat', async () => {
    await bob.keyboard.press('Enter');
    await alice.waitForSelector('#messages li[data-from="bob"] >> text=hello from bob');
    await bob.waitForSelector('#messages li.mine[data-from="bob"] >> text=hello from bob');
    assert.equal(await bob.inputValue('#text'), '');
    // The message clears bob's typing indicator at alice.
    await alice.waitForFunction(() => document.querySelector('#typing').textContent === '');
    await alice.fill('#text', 'hi bob!');
    await alice.click('#send');
    await bob.waitForSelector('#messages li[data-from="alice"] >> text=hi bob!');
  });

  await withShotOnFailure(pages, 'notify', async () => {
    // alice asks the backend (an internal service) to PushToUser bob over gRPC.
    await alice.fill('#notify-user', 'bob');
    await alice.fill('#notify-text', 'Your build is green');
    await alice.click('#notify-send');
    await bob.waitForSelector('#notifications li >> text=Your build is green');
    assert.match(await bob.textContent('#notifications li'), /alice:/);
    await alice.waitForSelector('#notify-result >> text=1 socket(s) reached');
    await alice.waitForTimeout(500);
    assert.equal(await alice.locator('#notifications li').count(), 0, 'only bob gets it');
  });

  // The quickstart screenshot: bob's page, with alice typing and a notification.
  await withShotOnFailure(pages, 'screenshot', async () => {
    await alice.fill('#text', '');
    await alice.click('#text');
    await alice.keyboard.type('see you at the standup', { delay: 15 });
    await alice.keyboard.press('Enter');
    await alice.click('#text');
    await alice.keyboard.type('one more', { delay: 15 });
    await bob.waitForFunction(() => document.querySelector('#typing').textContent.includes('alice is typing'));
    await shot(bob, '02-bob-chat-presence-notification');
    await shot(alice, '02-alice-chat');
  });

  await withShotOnFailure(pages, 'validation', async () => {
    const bobMessages = await bob.locator('#messages li').count();
    await alice.fill('#text', '');
    await alice.click('#send');
    await alice.waitForSelector('#error:not([hidden]) >> text=VALIDATION_FAILED');
    assert.match(await alice.textContent('#error-details'), /text: must be at least 1 character/);

    await alice.fill('#text', 'x'.repeat(2001));
    await alice.click('#send');
    await alice.waitForSelector('#error-details >> text=text: must be at most 2000 characters');
    assert.equal(await alice.textContent('#error-code'), 'VALIDATION_FAILED');
    await shot(alice, '03-alice-validation-error');
    // Nothing was relayed; a valid message afterwards clears the error.
    await alice.fill('#text', 'x'.repeat(2000));
    await alice.click('#send');
    await alice.waitForSelector('#error', { state: 'hidden' });
    await bob.waitForFunction((n) => document.querySelectorAll('#messages li').length === n + 1, bobMessages);
    assert.equal(await bob.textContent('#messages li:last-child .text'), 'x'.repeat(2000));
  });

  // Leaving a room updates the other user's online list.
  await withShotOnFailure(pages, 'leave', async () => {
    await bob.click('#rooms li[data-room="lobby"] .room-leave');
    await alice.waitForSelector('#members li[data-user="bob"]', { state: 'detached' });
    await bob.waitForSelector('#rooms li[data-room="lobby"] .room-join');
  });
  assert.deepEqual(pageErrors, []);
});

test('token expiry: herald:token_expired warns, renewing keeps the socket, else it is disconnected', async () => {
  // auth.on_expiry: grace (config/standalone.yaml); the stack runs with leeway 0 and grace_s 3.
  const carol = await openAs('carol', { ttl: 2 });
  await withShotOnFailure({ carol }, 'renew', async () => {
    await carol.waitForSelector('#banner:not([hidden]) >> text=Your token expired', { timeout: 8000 });
    // Renew with a 1 h token (the renew button uses the sign-in form's lifetime).
    await carol.$eval('#ttl', (sel) => { sel.value = '3600'; });
    await carol.click('#renew');
    await carol.waitForSelector('#banner', { state: 'hidden' });
    await carol.waitForTimeout(4000);  // past the old token's grace deadline
    assert.equal(await carol.getAttribute('#status', 'data-state'), 'connected');
    assert.equal(await carol.isHidden('#banner'), true);
  });

  const dave = await openAs('dave', { ttl: 2 });
  await withShotOnFailure({ dave }, 'expire', async () => {
    await dave.waitForSelector('#banner:not([hidden]) >> text=Your token expired', { timeout: 8000 });
    await dave.waitForSelector('#status[data-state="disconnected"]', { timeout: 8000 });
    await dave.waitForSelector('#banner-text >> text=Herald closed the connection. Sign in again');
    await shot(dave, '04-dave-token-expired');
    await dave.click('#sign-in-again');
    await dave.waitForSelector('#sign-in:not([hidden])');
  });
});
