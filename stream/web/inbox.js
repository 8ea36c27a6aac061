// The inbox beside read state (docs/PROTOCOL.md, "Seen and archived"): the unseen count
// (the bell's "new since I last looked", apart from unread), archive and unarchive,
// mark unread, and pages of history other than the first (filters, before=).
//
// The unseen count works as the unread count does (read-state.js): it starts from the
// history's `unseen`, grows with new notifications and shrinks with `event: inbox`
// {"op":"seen"} from any tab or device. Archive, unarchive and unread change what a list
// shows, not this count: they reach the app through onInbox, and the server's event
// reaches every tab and device of the user, this one included.

import { call } from "./callbacks.js";
import { request } from "./http.js";

// setUnseen starts the count from a history page, as setUnread does: page is what the
// server sent, shown what the page shows of it; the rest of `unseen` is "outside".
export function setUnseen(sess, page, shown, unseen) {
  sess.unseenIds = new Set(shown.filter((n) => n.seen !== true).map((n) => String(n.id)));
  const inPage = page.filter((n) => n.seen !== true).length;
  sess.unseenOutside = Number.isFinite(unseen) ? Math.max(0, unseen - inPage) : 0;
}

// addUnseen counts a notification delivered after the history (live or replayed).
export function addUnseen(sess, n) {
  if (!sess.unseenIds) sess.unseenIds = new Set();
  if (n.seen !== true) sess.unseenIds.add(String(n.id));
}

export const unseenCount = (sess) => (sess && sess.unseenIds ? sess.unseenIds.size + (sess.unseenOutside || 0) : 0);

// applySeen applies op seen to the unseen count (other ops change no count here: op
// unread belongs to read state).
export function applySeen(c, sess, d) {
  if (!d || d.op !== "seen") return;
  if (sess.unseenIds) {
    if (d.all === true) {
      sess.unseenIds.clear();
      sess.unseenOutside = 0;
    } else if (Array.isArray(d.ids)) {
      for (const id of d.ids) {
        if (sess.unseenIds.delete(String(id))) continue;
        if (sess.unseenOutside > 0 && !sess.seen.has(String(id))) sess.unseenOutside--; // an older one
      }
    }
  }
  emitUnseen(c, sess);
}

// emitUnseen tells the app the unseen count when it changed.
export function emitUnseen(c, sess) {
  const n = unseenCount(sess);
  if (n === sess.lastUnseen) return;
  sess.lastUnseen = n;
  call(c, sess, c.opts.onUnseen, n);
}

// mark posts {ids} (or {all}) to …/<path>. The page shows the change at once for seen;
// archive, unarchive and unread follow the server's `event: inbox`, which every tab
// and device of the user gets, so a refused call (a 404 from a server without
// …/unread, a 429) changes nothing on any screen and rejects with the failure.
async function mark(c, path, body) {
  const sess = c.s;
  if (path === "/seen" && sess && !sess.dead) applySeen(c, sess, { op: "seen", ...body });
  await request(c, "POST", path, body);
}

const idList = (ids) => [...new Set((ids || []).map(String))];

export function markSeen(c, ids) {
  const list = idList(ids);
  return list.length ? mark(c, "/seen", { ids: list }) : Promise.resolve();
}
export const markAllSeen = (c) => mark(c, "/seen", { all: true });
export function archive(c, ids, op = "archive") {
  const list = idList(ids);
  return list.length ? mark(c, `/${op}`, { ids: list }) : Promise.resolve();
}
export const unarchive = (c, ids) => archive(c, ids, "unarchive");

// page fetches one history page: {limit, unread, type, archived, before, after}; the
// answer is the server's ({notifications, next, prev, unread, unseen}). It is outside
// the stream: nothing in it is delivered through onNotification.
export function page(c, q = {}) {
  const p = new URLSearchParams();
  p.set("limit", String(q.limit || c.historyLimit));
  if (q.unread) p.set("unread", "true");
  if (q.archived) p.set("archived", "true");
  const types = Array.isArray(q.type) ? q.type.join(",") : q.type;
  if (types) p.set("type", types);
  if (q.before) p.set("before", q.before);
  if (q.after) p.set("after", q.after);
  return request(c, "GET", `?${p}`);
}
