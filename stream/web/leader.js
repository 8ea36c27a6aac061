// Tabs. The tabs of one origin and one user elect a leader (Web Locks, keyed by user);
// only the leader holds the stream and relays every notification to the user's other
// tabs over the user's BroadcastChannel (channel.js). Without Web Locks every tab
// streams and relays, and tabs refused by the server's per-user cap still receive
// what the others relay; duplicates are dropped.

import { retryAfter, sleep } from "./backoff.js";
import { call, status } from "./callbacks.js";
import { post } from "./channel.js";
import { applySeen } from "./inbox.js";
import { applyInbox, applyRead } from "./read-state.js";
import { applyReset } from "./reset.js";
import { accept, runStream } from "./stream.js";

// elect makes sess the leader at once when no other tab can hear it, else once it
// holds the user's lock; until then it follows.
export function elect(c, sess) {
  const locks = typeof navigator !== "undefined" ? navigator.locks : null;
  if (!sess.channel) return lead(c, sess, ""); // no other tab can hear us: stream alone
  if (!locks || typeof locks.request !== "function") return lead(c, sess, "no-web-locks");
  sess.shared = true;
  status(c, sess, "waiting");
  post(sess, { kind: "hello" });
  let p;
  try {
    p = locks.request(sess.key, { signal: sess.ctrl.signal }, () => {
      if (sess.dead) return undefined;
      return new Promise((release) => {
        sess.releaseLock = release;
        lead(c, sess, "");
      });
    });
  } catch (e) {
    p = Promise.reject(e);
  }
  p.catch((e) => {
    if (sess.dead || e?.name === "AbortError" || sess.role === "leader") return;
    lead(c, sess, "web-locks-failed"); // every tab streams and relays; duplicates are dropped
  });
}

// lead holds the stream, one after another with backoff between, until sess ends.
async function lead(c, sess, fallback) {
  sess.role = "leader";
  sess.fallback = fallback;
  if (fallback) sess.shared = false;
  if (!sess.store.get()) sess.store.record(sess.firstIds || [], sess.cursor);
  while (!sess.dead) {
    let e;
    try {
      e = await runStream(c, sess);
    } catch (err) {
      e = err;
    }
    const next = retryAfter(c, sess, e);
    if (!next) return;
    status(c, sess, "reconnecting", next);
    if (!(await sleep(sess, next.delayMs))) return;
  }
}

// onRelay handles a message from another tab of the user: a follower's hello (the
// leader answers with its status), the leader's status, and what it relays.
export function onRelay(c, sess, m) {
  if (sess.dead || !m || m.v !== 1 || m.user !== sess.user) return; // another student's tab
  if (m.kind === "hello") {
    if (sess.role === "leader" && sess.status) post(sess, { kind: "status", status: sess.status });
    return;
  }
  if (m.kind === "status") {
    if (sess.role === "leader" || !m.status) return;
    // A follower's state is the leader's: kept, so handle.state says what onStatus said.
    sess.status = { ...m.status, role: "follower" };
    call(c, sess, c.opts.onStatus, sess.status);
    return;
  }
  if (!sess.ready) return void sess.pending.push(m);
  if (m.kind === "notification" && m.n) accept(c, sess, m.n, m.pos, false);
  else if (m.kind === "reset") applyReset(c, sess, m, false);
  else if (m.kind === "read") applyRead(c, sess, m.data);
  else if (m.kind === "inbox") {
    applySeen(c, sess, m.data); // the unseen count (inbox.js), then read state and onInbox
    applyInbox(c, sess, m.data);
  }
}
