// rampart-testkit's browser harness: Debian's Chromium driven by playwright-core, pages checked
// with axe-core. Loaded by rampart_testkit::browser (NODE_PATH holds the cached node_modules and
// this directory, so a script says `require('harness')`).
//
//   const h = require('harness');
//   h.main(async () => {
//     const s = await h.open({ artifacts: '/path/to/artifacts' });
//     await s.goto('http://127.0.0.1:8080/');
//     await s.click('#more');
//     return s.finish({ title: await s.text('h1') });   // printed as one JSON document
//   });
//
// Or with steps (what the Rust tests use, so they write no JavaScript): `node steps.js FILE`, FILE
// holding {"artifacts": DIR, "steps": [...], "options": {...}}; see `Session.step` for the steps.
//
// Every request the page (or its workers) makes is recorded; one to anything but loopback, a
// file: URL or an inline scheme (data:, blob:, about:) is also listed in `outside_requests` and
// aborted before it leaves the machine, so a self-contained page is proven to make none.
'use strict';

const fs = require('fs');
const path = require('path');
const { chromium } = require('playwright-core');
const axe = require('axe-core');

const CHROMIUM = process.env.RAMPART_CHROMIUM || '/usr/bin/chromium';

// As root on these machines: without the background-networking flags Chromium's own connections
// (updates, sync, field trials) are refused many at a time. Playwright adds --headless and its
// own new, empty --user-data-dir (a temporary profile) itself.
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

// Impacts that fail an accessibility check (axe's scale: minor, moderate, serious, critical).
const FAILING_IMPACTS = ['serious', 'critical'];

/** Whether a URL stays on this machine: loopback hosts, file: and inline schemes. */
function isLocal(url) {
  let u;
  try {
    u = new URL(url);
  } catch (_) {
    return false;
  }
  if (['file:', 'data:', 'blob:', 'about:', 'chrome-error:'].includes(u.protocol)) return true;
  if (!['http:', 'https:', 'ws:', 'wss:'].includes(u.protocol)) return false;
  const host = u.hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** A URL or a path to a file (made absolute, as file://). */
function toUrl(target) {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return target;
  return 'file://' + path.resolve(target);
}

/** A screenshot name made safe as a file name. */
function fileName(name) {
  const base = String(name).replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^\.+/, '') || 'page';
  return base.endsWith('.png') ? base : base + '.png';
}

class Session {
  constructor(browser, context, page, artifacts) {
    this.browser = browser;
    this.context = context;
    this.page = page;
    this.artifacts = artifacts;
    this.values = {};
    this.requests = [];
    this.outside = [];
    this.failed = [];
    this.bad = [];
    this.console = [];
    this.errors = [];
    this.axe = [];
    this.screenshots = {};
  }

  // -- navigation and input ------------------------------------------------------------------

  async goto(target) {
    const resp = await this.page.goto(toUrl(target), { waitUntil: 'load' });
    return resp ? resp.status() : null;
  }

  /** Clicks the first element matching `selector` (waits for it to be visible and enabled). */
  async click(selector) {
    await this.page.locator(selector).first().click();
  }

  async fill(selector, value) {
    await this.page.locator(selector).first().fill(String(value));
  }

  /** Presses `key` (e.g. "Tab", "Enter") in the element matching `selector`, or the page. */
  async press(key, selector) {
    if (selector) await this.page.locator(selector).first().press(key);
    else await this.page.keyboard.press(key);
  }

  async select(selector, value) {
    return this.page.locator(selector).first().selectOption(String(value));
  }

  /** Waits until an element matching `selector` is in `state` (visible by default). */
  async wait(selector, state) {
    await this.page.locator(selector).first().waitFor({ state: state || 'visible' });
  }

  // -- reading ----------------------------------------------------------------------------------

  /** The rendered text of the first element matching `selector`, trimmed. */
  async text(selector) {
    return (await this.page.locator(selector).first().innerText()).trim();
  }

  /** The rendered text of every element matching `selector`, trimmed. */
  async allText(selector) {
    return (await this.page.locator(selector).allInnerTexts()).map((t) => t.trim());
  }

  async count(selector) {
    return this.page.locator(selector).count();
  }

  async visible(selector) {
    return this.page.locator(selector).first().isVisible();
  }

  /** An attribute of the first element matching `selector` (null when absent). */
  async attr(selector, name) {
    return this.page.locator(selector).first().getAttribute(name);
  }

  /** An attribute of every element matching `selector` (null where absent). */
  async attrAll(selector, name) {
    return this.page
      .locator(selector)
      .evaluateAll((els, n) => els.map((e) => e.getAttribute(n)), name);
  }

  /**
   * The points of SVG shapes matching `selector`: a polyline's or polygon's `points` attribute
   * parsed into [x, y] pairs, a circle's or ellipse's centre, a rect's corner; all matches'
   * points in document order.
   */
  async points(selector) {
    return this.page.locator(selector).evaluateAll((els) => {
      const out = [];
      for (const e of els) {
        const tag = e.tagName.toLowerCase();
        const num = (a) => parseFloat(e.getAttribute(a));
        if (tag === 'polyline' || tag === 'polygon') {
          const nums = (e.getAttribute('points') || '')
            .trim()
            .split(/[\s,]+/)
            .filter((s) => s !== '')
            .map(Number);
          for (let i = 0; i + 1 < nums.length; i += 2) out.push([nums[i], nums[i + 1]]);
        } else if (tag === 'circle' || tag === 'ellipse') {
          out.push([num('cx'), num('cy')]);
        } else if (tag === 'rect' || tag === 'use' || tag === 'text' || tag === 'image') {
          out.push([num('x') || 0, num('y') || 0]);
        } else if (tag === 'line') {
          out.push([num('x1'), num('y1')], [num('x2'), num('y2')]);
        }
      }
      return out;
    });
  }

  /** Evaluates a JavaScript expression in the page (functions are not serialisable: values). */
  async eval(expression) {
    return this.page.evaluate(expression);
  }

  // -- checks and artifacts ---------------------------------------------------------------------

  /**
   * Runs axe-core on the page (or the part `options.include` selects) and returns its
   * violations of impact serious or critical, each with the nodes concerned. axe is evaluated
   * in the page through the DevTools protocol, so a page whose Content-Security-Policy forbids
   * injected scripts is still checked as served.
   */
  async runAxe(options) {
    const opts = options && typeof options === 'object' ? options : {};
    const loaded = await this.page.evaluate(() => typeof window.axe !== 'undefined');
    if (!loaded) await this.page.evaluate(axe.source);
    const runOptions = { resultTypes: ['violations'] };
    if (opts.rules) runOptions.rules = opts.rules;
    if (opts.runOnly) runOptions.runOnly = opts.runOnly;
    const context = opts.include ? { include: [opts.include] } : null;
    const result = await this.page.evaluate(
      ([ctx, o]) => (ctx ? window.axe.run(ctx, o) : window.axe.run(document, o)),
      [context, runOptions],
    );
    const impacts = opts.impacts || FAILING_IMPACTS;
    const violations = result.violations
      .filter((v) => impacts.includes(v.impact))
      .map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        helpUrl: v.helpUrl,
        nodes: v.nodes.map((n) => ({
          target: n.target,
          html: n.html,
          summary: n.failureSummary,
        })),
      }));
    this.axe.push(...violations);
    return violations;
  }

  /** A full-page PNG screenshot into the artifacts directory; returns its path. */
  async screenshot(name) {
    fs.mkdirSync(this.artifacts, { recursive: true });
    const file = path.join(this.artifacts, fileName(name));
    await this.page.screenshot({ path: file, fullPage: true });
    this.screenshots[String(name)] = file;
    return file;
  }

  // -- steps ------------------------------------------------------------------------------------

  /**
   * One step, an object with one action key; "as" names where a value goes (default: the
   * action's name), "timeout" (ms) bounds that step alone:
   *   {"goto": url-or-path}                 (value: the HTTP status, null for file:)
   *   {"click": sel}  {"fill": [sel, value]}  {"press": key} or {"press": [sel, key]}
   *   {"select": [sel, value]}  {"wait": sel}  {"wait": sel, "state": "hidden"|"attached"|...}
   *   {"text": sel}  {"all_text": sel}  {"count": sel}  {"visible": sel}
   *   {"attr": [sel, name]}  {"attr_all": [sel, name]}  {"points": sel}
   *   {"eval": "js expression"}
   *   {"axe": true} or {"axe": {"include": sel, "rules": {...}, "impacts": [...]}}
   *   {"screenshot": name}  {"viewport": [width, height]}  {"sleep": ms}
   */
  async step(s) {
    if (!s || typeof s !== 'object' || Array.isArray(s)) {
      throw new Error(`a step is an object with one action key, found ${JSON.stringify(s)}`);
    }
    const actions = Object.keys(s).filter((k) => !['as', 'timeout', 'state'].includes(k));
    if (actions.length !== 1) {
      throw new Error(`a step has exactly one action key, found ${JSON.stringify(actions)}`);
    }
    const action = actions[0];
    const arg = s[action];
    const pair = (what) => {
      if (!Array.isArray(arg) || arg.length !== 2) {
        throw new Error(`"${action}" expects [${what}], found ${JSON.stringify(arg)}`);
      }
      return arg;
    };
    if (s.timeout) this.page.setDefaultTimeout(s.timeout);
    let value;
    let keep = true;
    try {
      switch (action) {
        case 'goto':
          value = await this.goto(arg);
          break;
        case 'click':
          await this.click(arg);
          keep = false;
          break;
        case 'fill':
          await this.fill(...pair('selector, value'));
          keep = false;
          break;
        case 'press':
          if (Array.isArray(arg)) await this.press(pair('selector, key')[1], arg[0]);
          else await this.press(arg);
          keep = false;
          break;
        case 'select':
          value = await this.select(...pair('selector, value'));
          break;
        case 'wait':
          await this.wait(arg, s.state);
          keep = false;
          break;
        case 'text':
          value = await this.text(arg);
          break;
        case 'all_text':
          value = await this.allText(arg);
          break;
        case 'count':
          value = await this.count(arg);
          break;
        case 'visible':
          value = await this.visible(arg);
          break;
        case 'attr':
          value = await this.attr(...pair('selector, attribute'));
          break;
        case 'attr_all':
          value = await this.attrAll(...pair('selector, attribute'));
          break;
        case 'points':
          value = await this.points(arg);
          break;
        case 'eval':
          value = await this.eval(arg);
          break;
        case 'axe':
          value = await this.runAxe(arg);
          break;
        case 'screenshot':
          value = await this.screenshot(arg);
          break;
        case 'viewport':
          await this.page.setViewportSize({ width: pair('width, height')[0], height: arg[1] });
          keep = false;
          break;
        case 'sleep':
          await this.page.waitForTimeout(Number(arg));
          keep = false;
          break;
        default:
          throw new Error(`unknown step action "${action}"`);
      }
    } finally {
      if (s.timeout) this.page.setDefaultTimeout(this.timeout);
    }
    if (keep || s.as) this.values[s.as || action] = value === undefined ? null : value;
    return value;
  }

  /** Runs `steps` in order; a failing step throws with its index and the step itself. */
  async runSteps(steps) {
    if (!Array.isArray(steps)) throw new Error('steps must be a JSON array');
    for (let i = 0; i < steps.length; i++) {
      try {
        await this.step(steps[i]);
      } catch (e) {
        const err = new Error(`step ${i} ${JSON.stringify(steps[i])}: ${e.message}`);
        err.stepIndex = i;
        err.step = steps[i];
        throw err;
      }
    }
    return this.values;
  }

  // -- the end ----------------------------------------------------------------------------------

  /** Everything recorded, with `values` (merged with `extra`): the JSON a script prints. */
  report(extra) {
    return {
      values: Object.assign({}, this.values, extra || {}),
      axe: this.axe,
      requests: this.requests,
      outside_requests: this.outside,
      failed_requests: this.failed,
      bad_responses: this.bad,
      console: this.console,
      console_errors: this.console.filter((m) => m.type === 'error').map((m) => m.text),
      page_errors: this.errors,
      screenshots: this.screenshots,
    };
  }

  async close() {
    await this.browser.close().catch(() => {});
  }

  /** Closes the browser and returns `report(extra)`. */
  async finish(extra) {
    await this.close();
    return this.report(extra);
  }
}

/**
 * Launches Chromium and opens one page. Options: artifacts (directory for screenshots),
 * viewport ({width, height}; 1280x800 by default), timeout (ms per action, 15000), colorScheme,
 * locale.
 */
async function open(options) {
  const opts = options || {};
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    timeout: 60000,
  });
  let session;
  try {
    const context = await browser.newContext({
      viewport: opts.viewport || { width: 1280, height: 800 },
      colorScheme: opts.colorScheme || 'light',
      locale: opts.locale || 'en-US',
      serviceWorkers: 'block',
    });
    const page = await context.newPage();
    session = new Session(browser, context, page, opts.artifacts || process.cwd());
    session.timeout = opts.timeout || 15000;
    page.setDefaultTimeout(session.timeout);
    page.setDefaultNavigationTimeout(Math.max(session.timeout, 30000));
    const s = session;
    // abort what would leave the machine (after the 'request' event has recorded it)
    await context.route(
      (url) => !isLocal(url.href),
      (route) => route.abort('blockedbyclient'),
    );
    context.on('request', (req) => {
      const url = req.url();
      s.requests.push(url);
      if (!isLocal(url)) s.outside.push(url);
    });
    context.on('requestfailed', (req) => {
      if (isLocal(req.url())) {
        s.failed.push({ url: req.url(), error: (req.failure() || {}).errorText || '' });
      }
    });
    context.on('response', (resp) => {
      if (resp.status() >= 400) s.bad.push({ url: resp.url(), status: resp.status() });
    });
    page.on('websocket', (ws) => {
      s.requests.push(ws.url());
      if (!isLocal(ws.url())) s.outside.push(ws.url());
    });
    page.on('console', (msg) => {
      const loc = msg.location() || {};
      s.console.push({ type: msg.type(), text: msg.text(), url: loc.url || '' });
    });
    page.on('pageerror', (err) => s.errors.push(String((err && err.stack) || err)));
  } catch (e) {
    await browser.close().catch(() => {});
    throw e;
  }
  return session;
}

/**
 * Runs `fn` and prints what it returns as one JSON document on stdout (exit 0); on an error,
 * prints {"error": {...}} (with the session's report when `fn` set `state.session`) and exits 2.
 */
function main(fn) {
  const state = {};
  Promise.resolve()
    .then(() => fn(state))
    .then(
      (out) => {
        process.stdout.write(JSON.stringify(out === undefined ? null : out) + '\n');
        process.exitCode = 0;
      },
      async (e) => {
        // Playwright colours its call logs: plain text for a test's failure message
        const plain = (t) => String(t).replace(/\x1b\[[0-9;]*m/g, '');
        const error = {
          message: plain((e && e.message) || e),
          stack: plain((e && e.stack) || ''),
        };
        if (e && e.stepIndex !== undefined) {
          error.step_index = e.stepIndex;
          error.step = e.step;
        }
        let out = { error };
        const s = state.session;
        if (s) {
          try {
            error.screenshot = await s.screenshot('failure');
          } catch (_) {
            // the page may be gone; the message says why
          }
          await s.close();
          out = Object.assign(s.report(), { error });
        }
        process.stdout.write(JSON.stringify(out) + '\n');
        process.stderr.write(`browser harness: ${error.message}\n`);
        process.exitCode = 2;
      },
    );
}

/** Runs a steps document ({artifacts, steps, options}) and returns the session's report. */
async function runStepsDocument(doc, state) {
  const opts = Object.assign({}, doc.options || {}, { artifacts: doc.artifacts });
  const session = await open(opts);
  if (state) state.session = session;
  await session.runSteps(doc.steps || []);
  return session.finish();
}

module.exports = {
  CHROMIUM,
  CHROMIUM_ARGS,
  FAILING_IMPACTS,
  isLocal,
  open,
  main,
  runStepsDocument,
  Session,
};
