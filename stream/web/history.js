// A session's start: the history to show, and where the stream starts. Once it is
// shown, relays that arrived meanwhile are applied and the tab joins the election.

import { retryAfter, sleep } from "./backoff.js";
import { call, status } from "./callbacks.js";
import { getJSON } from "./http.js";
import { elect, onRelay } from "./leader.js";
import { RECENT_IDS } from "./position-store.js";
import { emitUnseen, setUnseen, unseenCount } from "./inbox.js";
import { emitUnread, setUnread } from "./read-state.js";

const EMPTY_LOG = "0-0"; // the contract's position of an empty log ("0-0 when the log is empty")

// loadHistory loads the history, retrying with backoff until it is shown or sess ends.
export async function loadHistory(c, sess) {
  for (;;) {
    try {
      const body = await getJSON(c, sess, `${c.api}?limit=${c.historyLimit}`);
      if (sess.dead) return;
      applyHistory(c, sess, body.notifications || [], body.next, body);
      break;
    } catch (e) {
      const next = retryAfter(c, sess, e);
      if (!next) return;
      status(c, sess, "reconnecting", next);
      if (!(await sleep(sess, next.delayMs))) return;
    }
  }
  sess.ready = true;
  for (const m of sess.pending.splice(0)) onRelay(c, sess, m);
  elect(c, sess);
}

// applyHistory shows the history and sets where the stream starts. Returning to a
// recorded position, what was recorded is history and what is newer arrives as
// notifications (the stream replays it); otherwise the history is the past and the
// stream resumes after its newest item.
function applyHistory(c, sess, list, next, body) {
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
  setUnread(sess, list, shown, body.unread);
  setUnseen(sess, list, shown, body.unseen);
  // prev: the before= cursor of the page older than the history (loading older pages).
  const info = { unread: sess.unreadIds.size + sess.outside, unseen: unseenCount(sess), prev: body.prev || "" };
  if (sess.why) call(c, sess, c.onReset, shown, { reason: sess.why, ...info });
  else call(c, sess, c.opts.onHistory, shown, info);
  emitUnread(c, sess);
  emitUnseen(c, sess);
}
