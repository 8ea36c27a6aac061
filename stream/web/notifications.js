// Vividly notifications — browser client. A dependency-free ES module.
//
//   import { connect } from "/client/notifications.js";
//   const handle = connect({
//     baseUrl: "https://notifications.example",   // the stream service
//     getToken: () => myApp.currentJwt(),          // the app's JWT (cached is fine); null when signed out
//     onHistory: (list) => setItems(list),         // the list to show, oldest first (again after a reset)
//     onNotification: (n) => addAndToast(n),       // each new notification once, in order, any type
//     onStatus: (s) => setBadge(s.state, s.reason),
//   });
//   handle.close();
//
// Transport. The stream is read with fetch() and parsed here rather than by EventSource,
// because EventSource hides what a robust client needs: the HTTP status of a refusal
// (401 vs 429 vs 503, and Retry-After), the server's `retry:` hint, the `: ping`
// comments that prove a quiet connection is alive, and events of types nobody
// registered a listener for (Phase 2 adds types the app must not have to list). It
// also lets the JWT travel in the Authorization header, so no ticket is needed.
//
// Positions. Ids are opaque: the client never parses or compares them. The resume
// position is the last `id:` the server sent, in the server's order; duplicates are
// dropped with a set of recently seen notification ids.
//
// Tabs. The tabs of one origin and one user elect a leader (Web Locks, keyed by user);
// only the leader holds the stream and relays every notification to the user's other
// tabs over a BroadcastChannel keyed by user, each message tagged with the user. A tab
// whose getToken starts returning another user leaves that group and joins the other.
// Without Web Locks every tab streams and relays, and tabs refused by the server's
// per-user cap still receive what the others relay. The position and the recently seen
// ids are kept in localStorage (sessionStorage, then memory, when that fails), so a
// reload resumes where the page left off without showing anything twice.

const API_PATH = "/api/v1/notifications";
const MAX_PAGE = 200; // the server's largest history page (DESIGN.md)
const EMPTY_LOG = "0-0"; // the contract's position of an empty log ("0-0 when the log is empty")
const RECENT_IDS = 100; // notification ids stored with the position
const SEEN_IDS = 5000; // notification ids remembered per page for dropping duplicates
const MIN_BASE_MS = 200; // a retry hint below this would turn backoff into hammering
const MAX_RECOVERY_PAGES = 100;

// backoffDelay is the wait before reconnect attempt n (0-based): "full jitter" over an
// exponentially growing cap, so a server restart is not met by every client at once.
export function backoffDelay(attempt, { baseMs = 1000, maxMs = 30000 } = {}, random = Math.random) {
  const cap = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * cap);
}

// userFromToken reads a claim of a JWT without verifying it (the server does), to keep
// one user's position, leader election and relays apart from another's.
export function userFromToken(token, claim = "sub") {
  try {
    const part = String(token).split(".")[1];
    const json = atob(part.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(part.length / 4) * 4, "="));
    const v = JSON.parse(json)[claim];
    return typeof v === "string" && v ? v : null;
  } catch {
    return null;
  }
}

// createSSEParser parses a text/event-stream body fed in chunks (WHATWG HTML §9.2.6).
// onEvent gets {type, data, id, hasId, hasData} at each blank line: id is the last
// event id so far, hasId whether this frame set it (a frame without an id: line, such
// as `event: read`, is no position). onComment gets comment lines (`: ping`), onRetry
// the reconnection time in ms.
export function createSSEParser({ onEvent, onComment = () => {}, onRetry = () => {} }) {
  let buf = "";
  let data = [];
  let type = "";
  let lastId = "";
  let hasId = false;
  const field = (line) => {
    if (line === "") {
      if (data.length || hasId) onEvent({ type: type || "message", data: data.join("\n"), id: lastId, hasId, hasData: data.length > 0 });
      data = [];
      type = "";
      hasId = false;
      return;
    }
    if (line[0] === ":") return onComment(line.slice(1).trim());
    const i = line.indexOf(":");
    const name = i < 0 ? line : line.slice(0, i);
    let value = i < 0 ? "" : line.slice(i + 1);
    if (value[0] === " ") value = value.slice(1);
    if (name === "data") data.push(value);
    else if (name === "event") type = value;
    else if (name === "id" && !value.includes("\0")) {
      lastId = value;
      hasId = true;
    } else if (name === "retry" && /^\d+$/.test(value)) onRetry(Number(value));
  };
  let skipLF = false; // the previous chunk ended with CR: an LF starting this one belongs to it
  return {
    push(chunk) {
      if (!chunk) return;
      if (skipLF && chunk[0] === "\n") chunk = chunk.slice(1);
      skipLF = false;
      buf += chunk;
      let start = 0;
      for (let i = 0; i < buf.length; i++) {
        const c = buf.charCodeAt(i);
        if (c !== 10 && c !== 13) continue;
        field(buf.slice(start, i));
        if (c === 13 && i + 1 === buf.length) skipLF = true;
        else if (c === 13 && buf.charCodeAt(i + 1) === 10) i++;
        start = i + 1;
      }
      buf = buf.slice(start);
    },
  };
}

// createSeen remembers the last limit ids added.
export function createSeen(limit = SEEN_IDS) {
  const set = new Set();
  return {
    has: (id) => set.has(id),
    add(id) {
      if (set.has(id)) return;
      set.add(id);
      if (set.size > limit) set.delete(set.values().next().value);
    },
  };
}

// createPositionStore keeps {pos, ids}: the stream position to resume from and the
// notification ids recorded up to it. storages are tried in order (localStorage, then
// sessionStorage); a storage that refuses a write loses its copy, so a stale position
// can never survive there, and the record lives on in the next one (or in memory).
// A record never moves back: an id already recorded means another tab got further.
export function createPositionStore(key, storages) {
  const list = key ? storages.filter(Boolean) : [];
  let memory = null;
  const parse = (v) => {
    if (typeof v !== "string" || !v) return null;
    try {
      const r = JSON.parse(v);
      if (r && typeof r.pos === "string" && r.pos && Array.isArray(r.ids)) {
        return { pos: r.pos, ids: r.ids.filter((x) => typeof x === "string").slice(-RECENT_IDS) };
      }
    } catch {
      // not JSON: the bare id earlier clients stored (their position and their last id)
    }
    return v.length <= 512 && !/[\r\n]/.test(v) ? { pos: v, ids: [v] } : null;
  };
  const get = () => {
    // A later storage holds a copy only while an earlier one refuses writes: it is newer.
    for (let i = list.length - 1; i >= 0; i--) {
      try {
        const r = parse(list[i].getItem(key));
        if (r) return r;
      } catch {
        // blocked: try the next
      }
    }
    return memory;
  };
  return {
    get,
    record(ids, pos) {
      const cur = get();
      if (cur && ids.length && ids.some((id) => cur.ids.includes(id))) return;
      const rec = { pos, ids: [...(cur ? cur.ids : []), ...ids].slice(-RECENT_IDS) };
      memory = rec;
      const text = JSON.stringify(rec);
      for (let i = 0; i < list.length; i++) {
        try {
          list[i].setItem(key, text);
          for (const later of list.slice(i + 1)) later.removeItem(key);
          return;
        } catch {
          try {
            list[i].removeItem(key);
          } catch {
            // blocked entirely
          }
        }
      }
    },
  };
}

function storage(name) {
  try {
    const st = globalThis[name];
    st.getItem("vividly-probe"); // throws where storage is blocked
    return st;
  } catch {
    return null;
  }
}

const failure = (kind, extra = {}) => Object.assign(new Error(kind), { kind, ...extra });

async function httpFailure(res) {
  let detail = "";
  try {
    detail = String((await res.json()).error || "");
  } catch {
    // no JSON body
  }
  const ra = res.headers.get("Retry-After");
  let retryAfterMs = null;
  if (ra && /^\d+$/.test(ra)) retryAfterMs = Number(ra) * 1000;
  else if (ra && !Number.isNaN(Date.parse(ra))) retryAfterMs = Math.max(0, Date.parse(ra) - Date.now());
  return failure("http", { status: res.status, retryAfterMs, detail });
}

/**
 * connect starts receiving the user's notifications. Options:
 *   baseUrl         the stream service's origin (default: this page's origin)
 *   getToken        () => JWT | null | Promise of one (required); null means signed out
 *   onHistory       (list) => void: the notifications to show, oldest first
 *   onNotification  (n) => void: each new notification, once, in the server's order, any type
 *   onReset         (list, {reason}) => void: replace what is shown (the server could not
 *                   resume, or the user changed); default onHistory. Notifications missed
 *                   in a gap follow through onNotification, never in list as well.
 *   onRead          ({ids} | {all}) => void: notifications were marked read, in this tab,
 *                   another tab or another device (the server's `event: read`, relayed)
 *   onUnread        (count) => void: the server's unread count as this page knows it:
 *                   the history's `unread`, plus new notifications, minus what is marked
 *                   read anywhere. handle.isUnread(id) tells one notification's state.
 *   onStatus        ({state, reason, role, attempt, delayMs, user, shared, detail}) => void
 *                   state: waiting | connecting | open | reconnecting | unauthorized | closed.
 *                   "unauthorized" is terminal until getToken returns another token or
 *                   handle.reconnect() is called.
 *   historyLimit    how many past notifications to load (default 50, at most 200)
 *   userClaim       the JWT claim naming the user (default "sub"; the server's JWT_USER_CLAIM)
 *   backoff         {baseMs, maxMs}: the server's retry: hint replaces baseMs once seen
 *   stableMs        a stream open this long resets the backoff (default 30000)
 *   heartbeatMs     the server's heartbeat until one is observed (default 15000)
 *   userCheckMs     how often getToken is asked whether the user changed (default 10000)
 *   shareAcrossTabs default true
 * Returns {close(), reconnect(), role, user, state, unread, isUnread(id),
 *   markRead(ids), markAllRead(), getPreferences(), setPreferences(p)} — and
 *   enablePush(o)/disablePush(o)/pushState(o) for Web Push (see enablePush below).
 */
export function connect(opts) {
  if (!opts || typeof opts.getToken !== "function") throw new TypeError("connect: getToken is required");
  const base = String(opts.baseUrl || location.origin).replace(/\/+$/, "");
  const api = base + API_PATH;
  const claim = opts.userClaim || "sub";
  const historyLimit = Math.min(MAX_PAGE, Math.max(1, Math.floor(Number(opts.historyLimit) || 50)));
  const backoff = { baseMs: opts.backoff?.baseMs ?? 1000, maxMs: opts.backoff?.maxMs ?? 30000 };
  const stableMs = opts.stableMs ?? 30000;
  const heartbeatMs = opts.heartbeatMs ?? 15000;
  const wantShare = opts.shareAcrossTabs !== false;

  let closed = false;
  let s = null; // the current session: one user's history, stream or relay, position
  let bootGen = 0;

  // call runs an app callback for a live session; an exception in the app is reported
  // (window.onerror, console) and never breaks the client.
  const call = (sess, fn, ...args) => {
    if (closed || sess !== s || sess.dead || typeof fn !== "function") return;
    try {
      fn(...args);
    } catch (e) {
      setTimeout(() => {
        throw e;
      });
    }
  };
  const onReset = opts.onReset || opts.onHistory;

  function status(sess, state, extra = {}) {
    if (closed || sess !== s || sess.dead) return;
    const st = { state, reason: "", role: sess.role, attempt: sess.attempt, user: sess.user, shared: sess.shared, ...extra };
    sess.status = st;
    call(sess, opts.onStatus, st);
    if (sess.role === "leader") post(sess, { kind: "status", status: st });
  }

  function post(sess, m) {
    if (!sess.channel || sess.dead) return;
    try {
      sess.channel.postMessage({ v: 1, user: sess.user, ...m });
    } catch {
      // a message that cannot be cloned or a closed channel: the other tabs resume by id
    }
  }

  // token asks the app for a credential. A token for another user ends this session
  // and starts one for that user.
  async function token(sess) {
    let t;
    try {
      t = await opts.getToken();
    } catch (e) {
      throw failure("token-error", { detail: String(e?.message || e) });
    }
    if (sess.dead) throw failure("aborted");
    if (!t) throw failure("no-token");
    const user = userFromToken(t, claim);
    if (user !== sess.user) {
      startSession(t, user, "user-changed");
      throw failure("aborted");
    }
    sess.token = t;
    return t;
  }

  async function getJSON(sess, url) {
    const t = await token(sess);
    let res;
    try {
      res = await fetch(url, { headers: { Authorization: `Bearer ${t}` }, signal: sess.ctrl.signal, cache: "no-store" });
    } catch {
      throw failure(sess.dead ? "aborted" : "network");
    }
    if (!res.ok) throw await httpFailure(res);
    sess.authFailures = 0;
    try {
      return await res.json();
    } catch {
      throw failure(sess.dead ? "aborted" : "bad-response");
    }
  }

  function sleep(sess, ms) {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        sess.wake = null;
        resolve(!sess.dead);
      }, ms);
      sess.wake = () => {
        clearTimeout(t);
        sess.wake = null;
        resolve(!sess.dead);
      };
    });
  }

  // retryAfter decides what a failure means: null to stop (aborted, or unauthorized —
  // the session is parked), else how long to wait and why.
  function retryAfter(sess, err) {
    const e = err && err.kind ? err : failure("error", { detail: String(err?.message || err) });
    if (sess.dead || e.kind === "aborted") return null;
    let min = 0;
    let reason = e.kind;
    if (e.kind === "no-token") return park(sess, "no-token", null), null;
    if (e.kind === "token-error" && ++sess.tokenErrors >= 3) return park(sess, "token-error", null, e.detail), null;
    if (e.kind === "http") {
      reason = `http-${e.status}`;
      // One refusal may be a token that expired on the way: retry once with a fresh one.
      if (e.status === 401 && ++sess.authFailures >= 2) return park(sess, reason, sess.token, e.detail), null;
      if (e.status === 403 || e.status === 204) return park(sess, reason, sess.token, e.detail), null;
      min = e.retryAfterMs ?? (e.status === 429 ? 5000 : 0);
    }
    const attempt = sess.attempt++;
    const delayMs = min + backoffDelay(attempt, { baseMs: Math.max(MIN_BASE_MS, sess.hint ?? backoff.baseMs), maxMs: backoff.maxMs });
    return { reason, delayMs, attempt, detail: e.detail || "" };
  }

  // --- sessions ------------------------------------------------------------------

  function startSession(tok, user, why) {
    if (s && !s.dead) endSession(s);
    const key = user ? `vividly-notifications:${base}:${user}` : null;
    const sess = {
      user, token: tok, why, key, ctrl: new AbortController(), dead: false, role: "follower", ready: false,
      shared: false, cursor: null, seen: createSeen(), pending: [], attempt: 0, hint: null, beatMs: 0,
      authFailures: 0, tokenErrors: 0, streaming: false, wake: null, unreadIds: new Set(), outside: 0,
      store: createPositionStore(key, [storage("localStorage"), storage("sessionStorage")]),
    };
    s = sess;
    if (wantShare && key && typeof BroadcastChannel === "function") {
      try {
        sess.channel = new BroadcastChannel(key);
        sess.channel.onmessage = (ev) => onRelay(sess, ev.data);
      } catch {
        sess.channel = null;
      }
    }
    status(sess, "connecting", { reason: why });
    loadHistory(sess);
  }

  function endSession(sess) {
    sess.dead = true;
    sess.ctrl.abort();
    if (sess.wake) sess.wake();
    if (sess.channel) {
      sess.channel.onmessage = null;
      try {
        sess.channel.close();
      } catch {
        // already closed
      }
    }
    if (sess.releaseLock) sess.releaseLock();
  }

  // park stops a session the server or the app refused: state "unauthorized" until
  // getToken returns another token or the app calls reconnect().
  function park(sess, reason, refused, detail = "") {
    const st = { state: "unauthorized", reason, role: sess.role, attempt: sess.attempt, user: sess.user, shared: sess.shared, detail };
    if (sess.role === "leader") post(sess, { kind: "status", status: st });
    call(sess, opts.onStatus, st);
    endSession(sess);
    s = { parked: true, dead: true, user: sess.user, refused, role: sess.role, status: st };
  }

  async function boot(why) {
    const gen = ++bootGen;
    for (let i = 0; ; i++) {
      let t;
      let err = null;
      try {
        t = await opts.getToken();
      } catch (e) {
        err = e;
      }
      if (closed || gen !== bootGen) return;
      if (!err && !t) {
        s = { parked: true, dead: true, user: null, refused: null, role: "none" };
        callStatus({ state: "unauthorized", reason: "no-token", role: "none", attempt: 0, user: null, shared: false });
        return;
      }
      if (!err) return startSession(t, userFromToken(t, claim), why);
      if (i >= 2) {
        s = { parked: true, dead: true, user: null, refused: null, role: "none" };
        callStatus({ state: "unauthorized", reason: "token-error", role: "none", attempt: i, user: null, shared: false, detail: String(err?.message || err) });
        return;
      }
      const delayMs = backoffDelay(i, backoff);
      callStatus({ state: "reconnecting", reason: "token-error", role: "none", attempt: i, delayMs, user: null, shared: false });
      await new Promise((r) => setTimeout(r, delayMs));
    }
  }

  function callStatus(st) {
    if (closed || !opts.onStatus) return;
    try {
      opts.onStatus(st);
    } catch (e) {
      setTimeout(() => {
        throw e;
      });
    }
  }

  async function loadHistory(sess) {
    for (;;) {
      try {
        const body = await getJSON(sess, `${api}?limit=${historyLimit}`);
        if (sess.dead) return;
        applyHistory(sess, body.notifications || [], body.next, body.unread);
        break;
      } catch (e) {
        const next = retryAfter(sess, e);
        if (!next) return;
        status(sess, "reconnecting", next);
        if (!(await sleep(sess, next.delayMs))) return;
      }
    }
    sess.ready = true;
    for (const m of sess.pending.splice(0)) onRelay(sess, m);
    elect(sess);
  }

  // applyHistory shows the history and sets where the stream starts. Returning to a
  // recorded position, what was recorded is history and what is newer arrives as
  // notifications (the stream replays it); otherwise the history is the past and the
  // stream resumes after its newest item.
  function applyHistory(sess, list, next, unread) {
    const rec = sess.store.get();
    let shown = list;
    if (rec) {
      for (const id of rec.ids) sess.seen.add(id);
      let k = -1;
      list.forEach((n, i) => {
        if (sess.seen.has(String(n.id))) k = i;
      });
      shown = list.slice(0, k + 1);
      sess.cursor = rec.pos;
    } else {
      sess.cursor = next || (list.length ? String(list[list.length - 1].id) : EMPTY_LOG);
      sess.firstIds = list.slice(-RECENT_IDS).map((n) => String(n.id));
    }
    for (const n of shown) sess.seen.add(String(n.id));
    setUnread(sess, list, shown, unread);
    if (sess.why) call(sess, onReset, shown, { reason: sess.why, unread: sess.unreadIds.size + sess.outside });
    else call(sess, opts.onHistory, shown, { unread: sess.unreadIds.size + sess.outside });
    emitUnread(sess);
  }

  // --- leadership ----------------------------------------------------------------

  function elect(sess) {
    const locks = typeof navigator !== "undefined" ? navigator.locks : null;
    if (!sess.channel) return lead(sess, ""); // no other tab can hear us: stream alone
    if (!locks || typeof locks.request !== "function") return lead(sess, "no-web-locks");
    sess.shared = true;
    status(sess, "waiting");
    post(sess, { kind: "hello" });
    let p;
    try {
      p = locks.request(sess.key, { signal: sess.ctrl.signal }, () => {
        if (sess.dead) return undefined;
        return new Promise((release) => {
          sess.releaseLock = release;
          lead(sess, "");
        });
      });
    } catch (e) {
      p = Promise.reject(e);
    }
    p.catch((e) => {
      if (sess.dead || e?.name === "AbortError" || sess.role === "leader") return;
      lead(sess, "web-locks-failed"); // every tab streams and relays; duplicates are dropped
    });
  }

  async function lead(sess, fallback) {
    sess.role = "leader";
    sess.fallback = fallback;
    if (fallback) sess.shared = false;
    if (!sess.store.get()) sess.store.record(sess.firstIds || [], sess.cursor);
    while (!sess.dead) {
      let e;
      try {
        e = await runStream(sess);
      } catch (err) {
        e = err;
      }
      const next = retryAfter(sess, e);
      if (!next) return;
      status(sess, "reconnecting", next);
      if (!(await sleep(sess, next.delayMs))) return;
    }
  }

  // runStream holds one stream until it ends, and throws why it ended.
  async function runStream(sess) {
    status(sess, "connecting", { reason: sess.fallback });
    const tok = await token(sess);
    // st is this stream: frames held during a reset's recovery, and why it must end.
    const st = { ctrl: new AbortController(), held: null, end: null };
    const stop = () => st.ctrl.abort();
    sess.ctrl.signal.addEventListener("abort", stop);
    let stable = null;
    let watchdog = null;
    try {
      let res;
      try {
        res = await fetch(`${api}/stream?last_event_id=${encodeURIComponent(sess.cursor)}`, {
          headers: { Authorization: `Bearer ${tok}`, Accept: "text/event-stream" },
          signal: st.ctrl.signal,
          cache: "no-store",
        });
      } catch {
        throw failure(sess.dead ? "aborted" : "network");
      }
      if (res.status !== 200 || !/^text\/event-stream/i.test(res.headers.get("Content-Type") || "")) {
        throw await httpFailure(res);
      }
      sess.authFailures = 0;
      sess.tokenErrors = 0;
      sess.streaming = true;
      status(sess, "open", { reason: sess.fallback });
      stable = setTimeout(() => (sess.attempt = 0), stableMs);
      // A half-open connection delivers nothing, not even the server's pings: give up
      // on a stream silent for three heartbeats (learned from the pings' spacing).
      let last = performance.now();
      const limit = () => Math.max(1000, 3 * (sess.beatMs || heartbeatMs));
      const check = () => {
        const idle = performance.now() - last;
        clearTimeout(watchdog);
        if (idle < limit()) return void (watchdog = setTimeout(check, limit() - idle));
        st.end = failure("heartbeat-timeout");
        st.ctrl.abort();
      };
      check();
      let ping = false;
      const parser = createSSEParser({
        onEvent: (f) => onFrame(sess, st, f),
        onComment: (text) => (ping = ping || text === "ping"),
        onRetry: (ms) => (sess.hint = Math.min(ms, backoff.maxMs)),
      });
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      for (let chunks = 0; ; chunks++) {
        let chunk;
        try {
          chunk = await reader.read();
        } catch {
          throw sess.dead ? failure("aborted") : st.end || failure("network");
        }
        if (chunk.done) throw st.end || failure("server-closed");
        const now = performance.now();
        const gap = now - last;
        last = now;
        ping = false;
        parser.push(decoder.decode(chunk.value, { stream: true }));
        // A ping comes one heartbeat after the server's previous write.
        if (ping && chunks > 0 && gap > sess.beatMs) {
          const before = limit();
          sess.beatMs = gap;
          if (limit() < before) check(); // the watchdog was set for the longer default
        }
        if (st.end) throw st.end;
      }
    } finally {
      clearTimeout(stable);
      clearTimeout(watchdog);
      sess.streaming = false;
      sess.ctrl.signal.removeEventListener("abort", stop);
      st.ctrl.abort();
      st.end = st.end || failure("ended");
    }
  }

  // --- frames and relays ---------------------------------------------------------

  function onFrame(sess, st, f) {
    if (sess.dead || st.end) return;
    if (st.held) return void st.held.push(f); // until the reset's gap is recovered
    if (f.type === "reset") return void recover(sess, st, f);
    if (f.type === "read") {
      const d = parseJSON(f.data);
      if (d) {
        post(sess, { kind: "read", data: d });
        applyRead(sess, d);
      }
      return;
    }
    const pos = f.hasId ? f.id : null;
    const n = f.hasData ? parseJSON(f.data) : null;
    if (!n || typeof n !== "object" || Array.isArray(n)) {
      if (pos) {
        sess.cursor = pos; // an id-only frame, or nothing we can show: move past it
        sess.store.record([], pos);
      }
      return;
    }
    if (n.id === undefined || n.id === null || n.id === "") n.id = f.id;
    if (!n.type) n.type = f.type;
    accept(sess, n, pos, true);
  }

  // accept delivers n unless it was seen; own: it came from this tab's stream.
  function accept(sess, n, pos, own) {
    if (pos && (own || !sess.streaming)) sess.cursor = pos;
    const id = String(n.id);
    if (sess.seen.has(id)) return;
    sess.seen.add(id);
    if (own) {
      sess.store.record([id], sess.cursor);
      post(sess, { kind: "notification", n, pos });
    }
    if (n.read !== true) sess.unreadIds.add(id);
    call(sess, opts.onNotification, n);
    emitUnread(sess);
  }

  // recover handles `event: reset`: the server cannot resume from our position. The
  // notifications after it that the log still holds are fetched page by page and
  // delivered once; the fresh history replaces the list. Frames arriving meanwhile wait.
  // If any fetch fails, the position stays where it was and the stream is ended, so the
  // next stream resets again and recovery is retried: nothing is skipped.
  async function recover(sess, st, f) {
    const held = (st.held = []);
    const info = parseJSON(f.data) || {};
    let m;
    try {
      const got = await pagesAfter(sess, sess.cursor);
      const latest = await getJSON(sess, `${api}?limit=${historyLimit}`);
      m = {
        kind: "reset",
        latest: latest.notifications || [],
        unread: latest.unread,
        got: got.items,
        pos: got.next || f.id,
        info: { reason: String(info.reason || "reset"), oldest: info.oldest },
      };
    } catch (e) {
      if (!sess.dead && !st.end) {
        const passOn = e.kind === "http" || e.kind === "no-token" || e.kind === "token-error" || e.kind === "aborted";
        st.end = passOn ? e : failure("reset-recovery-failed", { detail: e.kind });
        st.ctrl.abort();
      }
      return;
    }
    if (sess.dead || st.end) return; // the stream is gone: the next one resets again
    st.held = null;
    post(sess, m);
    applyReset(sess, m, true);
    for (const g of held) onFrame(sess, st, g);
  }

  async function pagesAfter(sess, after) {
    const items = [];
    let next = null;
    let from = after;
    for (let i = 0; i < MAX_RECOVERY_PAGES; i++) {
      let body;
      try {
        body = await getJSON(sess, `${api}?after=${encodeURIComponent(from)}&limit=${MAX_PAGE}`);
      } catch (e) {
        // The server cannot page from our position (not one of its ids): nothing after
        // it can be told apart; the fresh history is all there is.
        if (e.kind === "http" && e.status === 400 && i === 0) return { items, next };
        throw e;
      }
      const page = body.notifications || [];
      items.push(...page);
      if (body.next) next = body.next;
      if (page.length < MAX_PAGE || !body.next || body.next === from) break;
      from = body.next;
    }
    return { items, next };
  }

  function applyReset(sess, m, own) {
    const fresh = [];
    const freshIds = new Set();
    for (const n of m.got) {
      const id = String(n.id);
      if (!sess.seen.has(id) && !freshIds.has(id)) {
        freshIds.add(id);
        fresh.push(n);
      }
    }
    const list = m.latest.filter((n) => !freshIds.has(String(n.id)));
    for (const n of list) sess.seen.add(String(n.id));
    for (const id of freshIds) sess.seen.add(id);
    if (own || !sess.streaming) sess.cursor = m.pos;
    if (own) sess.store.record([...freshIds], m.pos);
    setUnread(sess, m.latest, list, m.unread);
    call(sess, onReset, list, { ...m.info, unread: sess.unreadIds.size + sess.outside });
    for (const n of fresh) {
      if (n.read !== true) sess.unreadIds.add(String(n.id));
      call(sess, opts.onNotification, n);
    }
    emitUnread(sess);
  }

  function onRelay(sess, m) {
    if (sess.dead || !m || m.v !== 1 || m.user !== sess.user) return; // another student's tab
    if (m.kind === "hello") {
      if (sess.role === "leader" && sess.status) post(sess, { kind: "status", status: sess.status });
      return;
    }
    if (m.kind === "status") {
      if (sess.role !== "leader" && m.status) call(sess, opts.onStatus, { ...m.status, role: "follower" });
      return;
    }
    if (!sess.ready) return void sess.pending.push(m);
    if (m.kind === "notification" && m.n) accept(sess, m.n, m.pos, false);
    else if (m.kind === "reset") applyReset(sess, m, false);
    else if (m.kind === "read") applyRead(sess, m.data);
  }

  // --- read state ----------------------------------------------------------------

  // setUnread starts the count from a history page: page is what the server sent,
  // shown what the page shows of it (the rest arrives as notifications and is counted
  // then). The server's unread counts every retained notification; those not in the
  // page are "outside": known only as a number.
  function setUnread(sess, page, shown, unread) {
    sess.unreadIds = new Set(shown.filter((n) => n.read !== true).map((n) => String(n.id)));
    const inPage = page.filter((n) => n.read !== true).length;
    sess.outside = Number.isFinite(unread) ? Math.max(0, unread - inPage) : 0;
  }

  function applyRead(sess, d) {
    if (!d || typeof d !== "object") return;
    if (d.all === true) {
      sess.unreadIds.clear();
      sess.outside = 0;
    } else if (Array.isArray(d.ids)) {
      for (const id of d.ids) {
        if (sess.unreadIds.delete(String(id))) continue;
        if (sess.outside > 0 && !sess.seen.has(String(id))) sess.outside--; // an older one
      }
    } else return;
    call(sess, opts.onRead, d);
    emitUnread(sess);
  }

  function emitUnread(sess) {
    const n = sess.unreadIds.size + sess.outside;
    if (n === sess.lastUnread) return;
    sess.lastUnread = n;
    call(sess, opts.onUnread, n);
  }

  // request sends an API call with the current user's token.
  async function request(method, path, body) {
    let t;
    try {
      t = await opts.getToken();
    } catch (e) {
      throw failure("token-error", { detail: String(e?.message || e) });
    }
    if (!t) throw failure("no-token");
    const init = { method, headers: { Authorization: `Bearer ${t}` }, cache: "no-store" };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(api + path, init);
    } catch {
      throw failure("network");
    }
    if (!res.ok) throw await httpFailure(res);
    if (res.status === 204) return null;
    try {
      return await res.json();
    } catch {
      return null;
    }
  }

  // markRead marks notifications read on the server; the page updates at once, and
  // every tab and device of the user follows from the server's `event: read`.
  async function markRead(ids) {
    const list = [...new Set((ids || []).map(String))];
    if (!list.length) return;
    const sess = s;
    if (sess && !sess.dead) applyRead(sess, { ids: list });
    try {
      await request("POST", "/read", { ids: list });
    } catch (e) {
      if (sess === s && sess && !sess.dead) resync(sess);
      throw e;
    }
  }

  async function markAllRead() {
    const sess = s;
    if (sess && !sess.dead) applyRead(sess, { all: true });
    try {
      await request("POST", "/read", { all: true });
    } catch (e) {
      if (sess === s && sess && !sess.dead) resync(sess);
      throw e;
    }
  }

  // resync re-reads the read state of the shown page after a failed mark.
  async function resync(sess) {
    try {
      const body = await request("GET", `?limit=${historyLimit}`);
      if (sess.dead || sess !== s || !body) return;
      const page = body.notifications || [];
      for (const n of page) {
        const id = String(n.id);
        if (n.read === true) sess.unreadIds.delete(id);
        else if (sess.seen.has(id)) sess.unreadIds.add(id);
      }
      const inPage = page.filter((n) => n.read !== true).length;
      if (Number.isFinite(body.unread)) sess.outside = Math.max(0, body.unread - inPage);
      emitUnread(sess);
    } catch {
      // the next history load corrects it
    }
  }

  // --- the user behind getToken --------------------------------------------------

  // checkUser notices a sign-out, or another student signing in, in a tab that is not
  // asking for tokens itself (a follower, or a leader with an open stream), and a new
  // credential after "unauthorized".
  async function checkUser() {
    const sess = s;
    if (closed || !sess) return;
    let t;
    try {
      t = await opts.getToken();
    } catch {
      return;
    }
    if (closed || sess !== s) return;
    const user = t ? userFromToken(t, claim) : null;
    if (sess.parked) {
      if (t && t !== sess.refused) startSession(t, user, "reconnect");
    } else if (!t) {
      park(sess, "no-token", null);
    } else if (user !== sess.user) {
      startSession(t, user, "user-changed");
    }
  }
  const checker = setInterval(checkUser, opts.userCheckMs ?? 10000);
  const onVisible = () => {
    if (typeof document !== "undefined" && document.visibilityState === "visible") checkUser();
  };
  if (typeof document !== "undefined") document.addEventListener("visibilitychange", onVisible);

  boot("");

  return {
    close() {
      if (closed) return;
      clearInterval(checker);
      if (typeof document !== "undefined") document.removeEventListener("visibilitychange", onVisible);
      bootGen++;
      const sess = s;
      const role = sess ? sess.role : "none";
      if (sess && !sess.dead) endSession(sess);
      callStatus({ state: "closed", reason: "closed", role, attempt: 0, user: sess ? sess.user : null, shared: false });
      closed = true;
    },
    // reconnect tries now: after "unauthorized" (once the user has signed in again), or
    // instead of waiting out a backoff.
    reconnect() {
      if (closed) return;
      if (!s || s.parked) boot("reconnect");
      else if (s.wake) s.wake();
    },
    get role() {
      return s ? s.role : "none";
    },
    get user() {
      return s ? s.user : null;
    },
    get state() {
      return s && s.status ? s.status.state : "connecting";
    },
    get unread() {
      return s && s.unreadIds ? s.unreadIds.size + s.outside : 0;
    },
    isUnread: (id) => !!(s && s.unreadIds && s.unreadIds.has(String(id))),
    markRead,
    markAllRead,
    // getPreferences → {muted_types, push}. setPreferences(p) stores the whole document
    // (fields left out keep their current value) and returns what the server stored.
    getPreferences: () => request("GET", "/preferences"),
    async setPreferences(p) {
      const cur = p && "muted_types" in p && "push" in p ? {} : await request("GET", "/preferences");
      return request("PUT", "/preferences", { muted_types: p.muted_types ?? cur.muted_types ?? [], push: p.push ?? cur.push ?? true });
    },
    enablePush: (o = {}) => enablePush({ ...o, request }),
    disablePush: (o = {}) => disablePush({ ...o, request }),
    pushState: (o = {}) => pushState({ ...o, request }),
  };
}

function parseJSON(text) {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

// --- Web Push ----------------------------------------------------------------------
//
// The service worker (sw.js, served by the stream service at /demo/sw.js; an app
// serves a copy from its own origin, since a worker must be same-origin with its pages)
// shows a pushed notification and focuses or opens its page on click. Options of
// handle.enablePush / disablePush / pushState:
//   serviceWorker  the worker's URL (default "sw.js", relative to the page)
//   scope          the registration's scope (default: the worker's folder)

function pushSupported() {
  return typeof navigator !== "undefined" && "serviceWorker" in navigator && typeof PushManager === "function" &&
    typeof Notification === "function";
}

// urlB64ToBytes decodes a base64url VAPID key into the bytes applicationServerKey wants.
export function urlB64ToBytes(s) {
  const b = atob(String(s).replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(String(s).length / 4) * 4, "="));
  return Uint8Array.from(b, (c) => c.charCodeAt(0));
}

function bytesToUrlB64(buf) {
  if (!buf) return "";
  const bytes = new Uint8Array(buf);
  let b = "";
  for (const x of bytes) b += String.fromCharCode(x);
  return btoa(b).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function workerURL(o) {
  return new URL(o.serviceWorker || "sw.js", location.href);
}

async function registration(o, register) {
  const url = workerURL(o);
  if (register) return navigator.serviceWorker.register(url.href, o.scope ? { scope: o.scope } : undefined);
  return navigator.serviceWorker.getRegistration(new URL(o.scope || ".", url).href);
}

// subscribe makes (or keeps) the browser's subscription for the server's current VAPID
// key and records it on the server with the key it was made with. A subscription made
// with another key (the keys rotated) is dropped on both sides and made again.
async function subscribe(o, reg) {
  const { public_key: key } = await o.request("GET", "/push/key");
  let sub = await reg.pushManager.getSubscription();
  if (sub && bytesToUrlB64(sub.options.applicationServerKey) !== key) {
    await o.request("DELETE", "/push/subscriptions", sub.toJSON()).catch(() => {});
    await sub.unsubscribe();
    sub = null;
  }
  if (!sub) sub = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: urlB64ToBytes(key) });
  await o.request("POST", "/push/subscriptions", { ...sub.toJSON(), public_key: key });
  return sub;
}

// enablePush turns Web Push on for this browser. Call it from a user gesture (a click on
// a switch): the permission prompt comes only then. Resolves {subscribed: true,
// endpoint}; rejects with kind "push-unsupported" | "push-denied" | an HTTP failure.
async function enablePush(o) {
  if (!pushSupported()) throw failure("push-unsupported");
  // First, while the gesture's activation is fresh.
  const perm = Notification.permission === "granted" ? "granted" : await Notification.requestPermission();
  if (perm !== "granted") throw failure("push-denied", { detail: perm });
  const reg = await registration(o, true);
  await activeWorker(reg);
  const sub = await subscribe(o, reg);
  return { subscribed: true, endpoint: sub.endpoint };
}

// disablePush unsubscribes this browser, on the server and in the browser.
async function disablePush(o) {
  if (!pushSupported()) return { subscribed: false };
  const reg = await registration(o, false);
  const sub = reg && (await reg.pushManager.getSubscription());
  if (sub) {
    await o.request("DELETE", "/push/subscriptions", sub.toJSON());
    await sub.unsubscribe();
  }
  return { subscribed: false };
}

// pushState tells whether this browser is subscribed, without prompting; call it on
// page load: a subscription made with a VAPID key the server no longer hands out is
// renewed (key rotation) when permission is still granted.
async function pushState(o) {
  if (!pushSupported()) return { supported: false, permission: "unsupported", subscribed: false };
  const permission = Notification.permission;
  const reg = await registration(o, false);
  let sub = reg && (await reg.pushManager.getSubscription());
  if (sub && permission === "granted") {
    try {
      sub = await subscribe(o, reg);
    } catch {
      // the server is unreachable now: keep what the browser has
    }
  }
  return { supported: true, permission, subscribed: !!sub };
}

function activeWorker(reg) {
  const w = reg.installing || reg.waiting;
  if (reg.active || !w) return Promise.resolve(reg.active);
  return new Promise((resolve) => {
    w.addEventListener("statechange", () => {
      if (w.state === "activated" || w.state === "redundant") resolve(reg.active);
    });
  });
}
