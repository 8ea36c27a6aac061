// The leader's stream: one fetch() of the event stream at a time, read until it ends,
// with a watchdog for a connection gone silent, and what each frame means.

import { call, status } from "./callbacks.js";
import { post } from "./channel.js";
import { failure, httpFailure } from "./failure.js";
import { parseJSON } from "./http.js";
import { addUnseen, applySeen, emitUnseen } from "./inbox.js";
import { applyInbox, applyRead, emitUnread } from "./read-state.js";
import { recover } from "./reset.js";
import { createSSEParser } from "./sse-parser.js";
import { token } from "./token.js";

// runStream holds one stream until it ends, and throws why it ended.
export async function runStream(c, sess) {
  status(c, sess, "connecting", { reason: sess.fallback });
  const tok = await token(c, sess);
  // st is this stream: frames held during a reset's recovery, and why it must end.
  const st = { ctrl: new AbortController(), held: null, end: null };
  const stop = () => st.ctrl.abort();
  sess.ctrl.signal.addEventListener("abort", stop);
  let stable = null;
  let watchdog = null;
  try {
    let res;
    try {
      res = await fetch(`${c.api}/stream?last_event_id=${encodeURIComponent(sess.cursor)}`, {
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
    status(c, sess, "open", { reason: sess.fallback });
    stable = setTimeout(() => (sess.attempt = 0), c.stableMs);
    // A half-open connection delivers nothing, not even the server's pings: give up
    // on a stream silent for three heartbeats (learned from the pings' spacing).
    let last = performance.now();
    const limit = () => Math.max(1000, 3 * (sess.beatMs || c.heartbeatMs));
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
      onEvent: (f) => onFrame(c, sess, st, f),
      onComment: (text) => (ping = ping || text === "ping"),
      onRetry: (ms) => (sess.hint = Math.min(ms, c.backoff.maxMs)),
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

// onFrame handles one frame of stream st: a reset, a read or inbox event, or a
// notification.
function onFrame(c, sess, st, f) {
  if (sess.dead || st.end) return;
  if (st.held) return void st.held.push(f); // until the reset's gap is recovered
  if (f.type === "reset") return void recover(c, sess, st, f, onFrame);
  if (f.type === "read") {
    const d = parseJSON(f.data);
    if (d) {
      post(sess, { kind: "read", data: d });
      applyRead(c, sess, d);
    }
    return;
  }
  if (f.type === "inbox") {
    // seen, archive, unarchive, unread: never a notification (it has no id)
    const d = parseJSON(f.data);
    if (d) {
      post(sess, { kind: "inbox", data: d });
      applySeen(c, sess, d); // the unseen count (inbox.js), then read state and onInbox
      applyInbox(c, sess, d);
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
  // n carries its own id and type: the server sends only what
  // notification.ParseEnvelope accepted, and that refuses data without either.
  accept(c, sess, n, pos, true);
}

// accept delivers n unless it was seen; own: it came from this tab's stream (else
// from the leader's, relayed).
export function accept(c, sess, n, pos, own) {
  if (pos && (own || !sess.streaming)) sess.cursor = pos;
  const id = String(n.id);
  if (sess.seen.has(id)) return;
  sess.seen.add(id);
  if (own) {
    sess.store.record([id], sess.cursor);
    post(sess, { kind: "notification", n, pos });
  }
  if (n.read !== true) sess.unreadIds.add(id);
  addUnseen(sess, n);
  call(c, sess, c.opts.onNotification, n);
  emitUnread(c, sess);
  emitUnseen(c, sess);
}
