// Read state and the unread count. Read state is the server's: the count starts from
// the history's `unread`, grows with new notifications and what is made unread again
// (`event: inbox` op unread), and shrinks with what is marked read anywhere (the
// server's `event: read`, in this tab, another tab or another device). Ids of notifications the page shows are known; the rest of the count is
// "outside": known only as a number.

import { call } from "./callbacks.js";
import { request } from "./http.js";

// setUnread starts the count from a history page: page is what the server sent,
// shown what the page shows of it (the rest arrives as notifications and is counted
// then). The server's unread counts every retained notification; those not in the
// page are "outside": known only as a number.
export function setUnread(sess, page, shown, unread) {
  sess.unreadIds = new Set(shown.filter((n) => n.read !== true).map((n) => String(n.id)));
  const inPage = page.filter((n) => n.read !== true).length;
  sess.outside = Number.isFinite(unread) ? Math.max(0, unread - inPage) : 0;
}

// applyRead applies a read event's data: {ids} or {all: true}.
export function applyRead(c, sess, d) {
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
  call(c, sess, c.opts.onRead, d);
  emitUnread(c, sess);
}

// emitUnread tells the app the count when it changed.
export function emitUnread(c, sess) {
  const n = sess.unreadIds.size + sess.outside;
  if (n === sess.lastUnread) return;
  sess.lastUnread = n;
  call(c, sess, c.opts.onUnread, n);
}

// markRead marks notifications read on the server; the page updates at once, and
// every tab and device of the user follows from the server's `event: read`.
export async function markRead(c, ids) {
  const list = [...new Set((ids || []).map(String))];
  if (!list.length) return;
  const sess = c.s;
  if (sess && !sess.dead) applyRead(c, sess, { ids: list });
  try {
    await request(c, "POST", "/read", { ids: list });
  } catch (e) {
    if (sess === c.s && sess && !sess.dead) resync(c, sess);
    throw e;
  }
}

export async function markAllRead(c) {
  const sess = c.s;
  if (sess && !sess.dead) applyRead(c, sess, { all: true });
  try {
    await request(c, "POST", "/read", { all: true });
  } catch (e) {
    if (sess === c.s && sess && !sess.dead) resync(c, sess);
    throw e;
  }
}

// applyInbox applies an inbox event's data, {op, ids} or {op, all}, then tells the app
// (onInbox). Of the ops only "unread" changes read state: the ids shown come back into
// the count; for any id not shown only the server knows whether it was read, so the
// count is re-read (resync) rather than guessed. seen, archive and unarchive are the
// app's to show.
export function applyInbox(c, sess, d) {
  if (!d || typeof d !== "object" || typeof d.op !== "string") return;
  if (d.op === "unread") {
    if (!Array.isArray(d.ids)) return;
    const unknown = unreadShown(sess, d.ids);
    if (unknown) resync(c, sess);
  }
  call(c, sess, c.opts.onInbox, d);
  emitUnread(c, sess);
}

// unreadShown puts the ids this page shows back among the unread; it returns whether
// any id is not shown.
function unreadShown(sess, ids) {
  let unknown = false;
  for (const raw of ids) {
    const id = String(raw);
    if (sess.seen.has(id)) sess.unreadIds.add(id);
    else unknown = true;
  }
  return unknown;
}

// markUnread undoes a read on the server (POST …/unread); the page updates at once for
// the ids it shows, and every tab and device follows from the server's `event: inbox`.
export async function markUnread(c, ids) {
  const list = [...new Set((ids || []).map(String))];
  if (!list.length) return;
  const sess = c.s;
  if (sess && !sess.dead) {
    unreadShown(sess, list);
    emitUnread(c, sess);
  }
  try {
    await request(c, "POST", "/unread", { ids: list });
  } catch (e) {
    if (sess === c.s && sess && !sess.dead) resync(c, sess);
    throw e;
  }
}

// resync re-reads the read state of the shown page after a failed mark.
async function resync(c, sess) {
  try {
    const body = await request(c, "GET", `?limit=${c.historyLimit}`);
    if (sess.dead || sess !== c.s || !body) return;
    const page = body.notifications || [];
    for (const n of page) {
      const id = String(n.id);
      if (n.read === true) sess.unreadIds.delete(id);
      else if (sess.seen.has(id)) sess.unreadIds.add(id);
    }
    const inPage = page.filter((n) => n.read !== true).length;
    if (Number.isFinite(body.unread)) sess.outside = Math.max(0, body.unread - inPage);
    emitUnread(c, sess);
  } catch {
    // the next history load corrects it
  }
}
