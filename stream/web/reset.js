// Recovery after `event: reset`: the server cannot resume from our position. The
// notifications after it that the log still holds are fetched page by page and
// delivered once; the fresh history replaces the list.

import { call } from "./callbacks.js";
import { post } from "./channel.js";
import { failure } from "./failure.js";
import { getJSON, MAX_PAGE, parseJSON } from "./http.js";
import { addUnseen, emitUnseen, setUnseen, unseenCount } from "./inbox.js";
import { emitUnread, setUnread } from "./read-state.js";

const MAX_RECOVERY_PAGES = 100;

// recover handles the reset frame f of stream st. Frames arriving meanwhile wait in
// st.held and go to onFrame (stream.js's) once the reset is applied. If any fetch
// fails, the position stays where it was and the stream is ended, so the next stream
// resets again and recovery is retried: nothing is skipped.
export async function recover(c, sess, st, f, onFrame) {
  const held = (st.held = []);
  const info = parseJSON(f.data) || {};
  let m;
  try {
    const got = await pagesAfter(c, sess, sess.cursor);
    const latest = await getJSON(c, sess, `${c.api}?limit=${c.historyLimit}`);
    m = {
      kind: "reset",
      latest: latest.notifications || [],
      unread: latest.unread,
      unseen: latest.unseen,
      prev: latest.prev || "",
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
  applyReset(c, sess, m, true);
  for (const g of held) onFrame(c, sess, st, g);
}

async function pagesAfter(c, sess, after) {
  const items = [];
  let next = null;
  let from = after;
  for (let i = 0; i < MAX_RECOVERY_PAGES; i++) {
    let body;
    try {
      body = await getJSON(c, sess, `${c.api}?after=${encodeURIComponent(from)}&limit=${MAX_PAGE}`);
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

// applyReset shows a recovered reset m: in the tab that recovered it (own) or relayed
// by the leader. The fresh history replaces the list (onReset); notifications missed in
// the gap follow through onNotification, never in the list as well.
export function applyReset(c, sess, m, own) {
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
  setUnseen(sess, m.latest, list, m.unseen);
  call(c, sess, c.onReset, list, { ...m.info, unread: sess.unreadIds.size + sess.outside, unseen: unseenCount(sess), prev: m.prev || "" });
  for (const n of fresh) {
    if (n.read !== true) sess.unreadIds.add(String(n.id));
    addUnseen(sess, n);
    call(c, sess, c.opts.onNotification, n);
  }
  emitUnread(c, sess);
  emitUnseen(c, sess);
}
