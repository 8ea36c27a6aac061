// Vividly notifications — browser client. A dependency-free ES module.
//
//   import { connect } from "/client/notifications.js";
//   const handle = connect({
//     baseUrl: "https://notifications.example",      // the stream service
//     getToken: async () => myApp.currentJwt(),       // the app's JWT; called on every (re)connect
//     onNotification: (n) => showToast(n),            // each notification once, in order
//     onHistory: (list) => renderList(list),          // what happened before this page
//     onStatus: (s) => setBadge(s.state),             // connecting | open | reconnecting | closed
//   });
//   handle.close();
//
// One connection per browser: the tabs of one origin elect a leader (Web Locks); only
// the leader holds the EventSource and passes notifications to the other tabs over a
// BroadcastChannel. When the leader tab closes, another takes over and resumes from the
// last id it saw, so nothing is lost. The last id is kept in localStorage, so a reload
// resumes where the page left off.

const DEFAULT_TYPES = ["video_complete", "video_failed"];

// compareIds orders notification ids ("<ms>-<seq>", as Redis stream ids). Ids that
// do not parse sort before every valid id.
export function compareIds(a, b) {
  const pa = parseId(a);
  const pb = parseId(b);
  if (!pa || !pb) return (pa ? 1 : 0) - (pb ? 1 : 0);
  if (pa[0] !== pb[0]) return pa[0] < pb[0] ? -1 : 1;
  if (pa[1] !== pb[1]) return pa[1] < pb[1] ? -1 : 1;
  return 0;
}

function parseId(id) {
  const m = /^(\d{1,20})-(\d{1,20})$/.exec(typeof id === "string" ? id : "");
  return m ? [BigInt(m[1]), BigInt(m[2])] : null;
}

// backoffDelay is the wait before reconnect attempt n (0-based): "full jitter" over an
// exponentially growing cap, so a server restart is not met by every client at once.
export function backoffDelay(attempt, { baseMs = 500, maxMs = 30000 } = {}, random = Math.random) {
  const cap = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * cap);
}

// userFromToken reads the subject of a JWT without verifying it (the server does), to
// keep one user's resume point apart from another's on a shared browser.
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

// createIdStore keeps the newest id seen under key; it only ever moves forward, so a
// slow tab cannot move it back. storage is localStorage (or a stand-in in tests).
export function createIdStore(storage, key) {
  return {
    get() {
      try {
        const v = storage.getItem(key);
        return parseId(v) ? v : null;
      } catch {
        return null;
      }
    },
    advance(id) {
      if (!parseId(id)) return;
      const cur = this.get();
      if (cur === null || compareIds(id, cur) > 0) {
        try {
          storage.setItem(key, id);
        } catch {
          // Storage full or blocked: resuming falls back to history after a reload.
        }
      }
    },
  };
}

// createCursor tracks what this tab has delivered: an id not after the cursor is a
// duplicate (replays overlap live frames and other tabs' broadcasts).
export function createCursor(start) {
  let last = start;
  return {
    get: () => last,
    accept(id) {
      if (last !== null && compareIds(id, last) <= 0) return false;
      last = id;
      return true;
    },
  };
}

async function fetchJSON(url, init) {
  const res = await fetch(url, init);
  if (!res.ok) {
    const err = new Error(`${init?.method || "GET"} ${url}: HTTP ${res.status}`);
    err.status = res.status;
    throw err;
  }
  return res.json();
}

/**
 * connect starts receiving the user's notifications. Options:
 *   baseUrl         the stream service's origin (default: this page's origin)
 *   getToken        async () => JWT (required)
 *   onNotification  (n) => void: each new notification, once, oldest first
 *   onHistory       (list) => void: notifications from before this page (oldest first)
 *   onReset         (list) => void: the server could not resume; list is the fresh history
 *   onStatus        ({state, role, attempt, delayMs}) => void
 *   historyLimit    how many past notifications to load (default 50)
 *   types           event names to listen for (default video_complete, video_failed)
 *   backoff         {baseMs, maxMs} for reconnects
 *   shareAcrossTabs default true
 */
export function connect(opts) {
  if (!opts || typeof opts.getToken !== "function") throw new TypeError("connect: getToken is required");
  const base = (opts.baseUrl || location.origin).replace(/\/+$/, "");
  const api = `${base}/api/v1/notifications`;
  const types = opts.types || DEFAULT_TYPES;
  const noop = () => {};
  const onNotification = opts.onNotification || noop;
  const onHistory = opts.onHistory || noop;
  const onReset = opts.onReset || onHistory;
  const onStatus = opts.onStatus || noop;
  const share = opts.shareAcrossTabs !== false && typeof BroadcastChannel !== "undefined" && !!navigator.locks;

  let closed = false;
  let role = share ? "follower" : "leader";
  let es = null;
  let timer = null;
  let attempt = 0;
  let cursor = null; // set once history is loaded
  let store = null;
  let channel = null;
  let releaseLock = noop;
  const abort = new AbortController();

  let lastStatus = null;
  const status = (state, extra = {}) => {
    const s = { state, role, attempt, ...extra };
    if (role === "leader") lastStatus = s;
    onStatus(s);
    if (role === "leader" && channel) channel.postMessage({ kind: "status", status: { ...s, role: "follower" } });
  };

  const bearer = async () => ({ Authorization: `Bearer ${await opts.getToken()}` });

  // deliver hands a notification to the page once, in id order, and (as leader)
  // records and shares it.
  const deliver = (n) => {
    if (!n || !cursor.accept(n.id)) return;
    if (role === "leader") {
      store.advance(n.id);
      if (channel) channel.postMessage({ kind: "notification", notification: n });
    }
    onNotification(n);
  };

  async function loadHistory() {
    const token = await opts.getToken();
    store = createIdStore(localStorage, `vividly-notifications:${base}:${userFromToken(token) || "user"}`);
    // Read the resume point before the history: anything stored after this read is
    // in the history fetched next, or arrives later (stream or broadcast).
    const stored = store.get();
    const limit = opts.historyLimit || 50;
    const body = await fetchJSON(`${api}?limit=${limit}`, { headers: { Authorization: `Bearer ${token}` } });
    const list = body.notifications || [];
    if (stored === null) {
      // First visit: the history is the past, and the stream resumes after its newest
      // item (or from the start of an empty log), so nothing falls in between.
      const start = list.length ? list[list.length - 1].id : "0-0";
      cursor = createCursor(start);
      store.advance(start);
      onHistory(list);
    } else {
      // Returning: what is newer than the stored id arrives through the stream (and
      // counts as new); the rest is history.
      cursor = createCursor(stored);
      onHistory(list.filter((n) => compareIds(n.id, stored) <= 0));
    }
  }

  async function handleReset(ev) {
    // The server could not resume from our id (trimmed, unknown, or the log was lost).
    // Items after our id that are still held arrive as notifications; the new id is the
    // log's newest.
    let list = [];
    try {
      const body = await fetchJSON(`${api}?limit=${opts.historyLimit || 50}`, { headers: await bearer() });
      list = body.notifications || [];
    } catch {
      // The history is unavailable; the stream itself continues from the reset id.
    }
    onReset(list);
    for (const n of list) deliver(n);
    if (ev.lastEventId && compareIds(ev.lastEventId, cursor.get()) > 0) {
      cursor.accept(ev.lastEventId);
      store.advance(ev.lastEventId);
    }
  }

  function scheduleReconnect() {
    if (closed || role !== "leader") return;
    const delayMs = backoffDelay(attempt, opts.backoff);
    status("reconnecting", { delayMs });
    attempt++;
    timer = setTimeout(open, delayMs);
  }

  async function open() {
    timer = null;
    if (closed || role !== "leader") return;
    status("connecting");
    let ticket;
    try {
      // A single-use ticket, because EventSource cannot send an Authorization header.
      ({ ticket } = await fetchJSON(`${api}/tickets`, { method: "POST", headers: await bearer() }));
    } catch {
      scheduleReconnect();
      return;
    }
    if (closed) return;
    const from = cursor.get();
    const url = `${api}/stream?ticket=${encodeURIComponent(ticket)}` + (from ? `&last_event_id=${encodeURIComponent(from)}` : "");
    const source = new EventSource(url);
    es = source;
    source.onopen = () => {
      attempt = 0;
      status("open");
    };
    const onFrame = (ev) => {
      let n;
      try {
        n = JSON.parse(ev.data);
      } catch {
        return;
      }
      if (n && !n.id) n.id = ev.lastEventId;
      deliver(n);
    };
    for (const t of types) source.addEventListener(t, onFrame);
    source.addEventListener("reset", handleReset);
    // Any error — the server ended the stream (token expiry, max age, shutdown), a
    // refused ticket, or a network failure — closes this EventSource: its own retry
    // would reuse a spent ticket. Reconnect with a fresh ticket from the cursor.
    source.onerror = () => {
      source.close();
      if (es === source) es = null;
      scheduleReconnect();
    };
  }

  function becomeLeader() {
    role = "leader";
    attempt = 0;
    // Resume from what this tab has shown, so a broadcast it missed is replayed.
    open();
  }

  // openChannel listens to the other tabs from the start, holding what arrives until
  // this tab's history is loaded, so nothing broadcast meanwhile is missed.
  function openChannel() {
    const pending = [];
    channel = new BroadcastChannel(`vividly-notifications:${base}`);
    channel.onmessage = (ev) => {
      const m = ev.data || {};
      if (role === "leader") {
        if (m.kind === "hello" && lastStatus) channel.postMessage({ kind: "status", status: { ...lastStatus, role: "follower" } });
        return;
      }
      if (m.kind === "notification") {
        if (cursor) deliver(m.notification);
        else pending.push(m.notification);
      } else if (m.kind === "status") {
        onStatus(m.status);
      }
    };
    return () => pending.splice(0).forEach(deliver);
  }

  function awaitLeadership() {
    channel.postMessage({ kind: "hello" });
    navigator.locks
      .request(`vividly-notifications:${base}`, { signal: abort.signal }, () => {
        if (closed) return;
        becomeLeader();
        return new Promise((resolve) => (releaseLock = resolve));
      })
      .catch(noop); // aborted by close() while waiting
  }

  const flushPending = share ? openChannel() : noop;

  (async () => {
    for (;;) {
      try {
        await loadHistory();
        break;
      } catch {
        if (closed) return;
        const delayMs = backoffDelay(attempt++, opts.backoff);
        status("reconnecting", { delayMs });
        await new Promise((r) => setTimeout(r, delayMs));
        if (closed) return;
      }
    }
    if (closed) return;
    attempt = 0;
    if (share) {
      flushPending();
      status("waiting");
      awaitLeadership();
    } else {
      open();
    }
  })();

  return {
    close() {
      if (closed) return;
      closed = true;
      abort.abort();
      if (timer) clearTimeout(timer);
      if (es) es.close();
      if (channel) channel.close();
      releaseLock();
      status("closed");
    },
    get role() {
      return role;
    },
  };
}
