// The inbox in the demo (issue 28): filter chips, "Load older", archive / unarchive /
// mark unread on every item, and the unseen badge on the bell. demo.js owns the live
// list and draws the rows; this module decides what the current view lists.
//
// "All" is the live list (history + stream) without what was archived since; every
// other view is a page the server filtered (unread=true, type=, archived=true), fetched
// again when an inbox event or a notification may change it, so it is the server's
// truth and never a second guess of it. "Load older" pages backwards with before=<prev>.

export const FILTERS = [
  ["all", "All"],
  ["unread", "Unread"],
  ["type:video_complete", "Videos ready"],
  ["type:video_failed", "Videos failed"],
  ["type:announcement", "Announcements"],
  ["archived", "Archived"],
];
const OLDER_PAGE = 20;

// createInbox: $ finds an element by id; handle() is the client handle (or null);
// getItems() the live Map (id → notification, oldest first); setItems(map) replaces
// it; render() draws the list; announce(text) speaks through the panel's live region.
export function createInbox({ $, handle, getItems, setItems, render, announce }) {
  let filter = "all";
  let prevAll = ""; // before= cursor of the page older than the live list
  const archived = new Set(); // archived since the history was loaded (history leaves them out)
  const known = new Map(); // notifications seen in filtered views, by id (to unarchive into All)
  let view = { list: [], prev: "" }; // a filtered view's page(s), oldest first
  let gen = 0; // the latest fetch: an older answer arriving late is dropped

  const query = () =>
    filter === "unread" ? { unread: true } : filter === "archived" ? { archived: true } : filter.startsWith("type:") ? { type: filter.slice(5) } : {};

  function chips() {
    const box = $("filters");
    box.replaceChildren();
    for (const [key, label] of FILTERS) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "chip";
      b.dataset.filter = key;
      b.textContent = label;
      b.setAttribute("aria-pressed", String(key === filter));
      b.addEventListener("click", () => setFilter(key));
      box.append(b);
    }
  }

  function olderButton() {
    const prev = filter === "all" ? prevAll : view.prev;
    $("load-older").hidden = !prev;
  }

  async function refresh() {
    if (filter === "all") return void (olderButton(), render());
    const h = handle();
    if (!h) return;
    const my = ++gen;
    try {
      const body = await h.page({ ...query() });
      if (my !== gen) return;
      view = { list: body.notifications || [], prev: body.prev || "" };
      for (const n of view.list) known.set(String(n.id), n);
    } catch (e) {
      if (my === gen) announce(`Could not load this view: ${why(e)}`);
    }
    olderButton();
    render();
  }

  function setFilter(key) {
    if (!FILTERS.some(([k]) => k === key)) return;
    filter = key;
    view = { list: [], prev: "" };
    for (const b of $("filters").querySelectorAll(".chip")) b.setAttribute("aria-pressed", String(b.dataset.filter === key));
    return refresh();
  }

  async function loadOlder() {
    const h = handle();
    const prev = filter === "all" ? prevAll : view.prev;
    if (!h || !prev) return;
    const my = gen;
    try {
      const body = await h.page({ ...query(), before: prev, limit: OLDER_PAGE });
      const older = body.notifications || [];
      if (filter === "all") {
        const cur = getItems();
        setItems(new Map([...older.filter((n) => !cur.has(n.id)).map((n) => [n.id, n]), ...cur]));
        prevAll = body.prev || "";
      } else {
        if (my !== gen) return;
        view = { list: [...older, ...view.list], prev: body.prev || "" };
      }
      announce(older.length ? `${older.length} older notifications loaded.` : "No older notifications.");
    } catch (e) {
      announce(`Could not load older notifications: ${why(e)}`);
    }
    olderButton();
    render();
  }

  // act runs one inbox call for n from its row; the row changes when the server's
  // `event: inbox` arrives (in every tab), and a refusal is said in the live region.
  async function act(kind, n, label, verb) {
    const h = handle();
    if (!h) return;
    try {
      await h[kind]([n.id]);
      announce(`${label}: ${n.title || n.type}.`);
    } catch (e) {
      announce(`Could not ${verb.toLowerCase()} “${n.title || n.type}”: ${why(e)}`);
    }
  }

  // actions appends a row's buttons: Archive or Unarchive, and Mark unread when read.
  function actions(el, n, unread, name) {
    const box = document.createElement("span");
    box.className = "actions";
    const isArchived = filter === "archived";
    const add = (cls, text, kind, label) => {
      const b = document.createElement("button");
      b.type = "button";
      b.className = `act ${cls}`;
      b.textContent = text;
      b.setAttribute("aria-label", `${text}: ${name}`);
      b.addEventListener("click", () => act(kind, n, label, text));
      box.append(b);
    };
    if (!unread && !isArchived) add("unread-btn", "Mark unread", "markUnread", "Marked unread");
    if (isArchived) add("unarchive-btn", "Unarchive", "unarchive", "Unarchived");
    else add("archive-btn", "Archive", "archive", "Archived");
    el.append(box);
  }

  return {
    chips,
    setFilter,
    loadOlder,
    actions,
    get filter() {
      return filter;
    },
    // list is what the current view shows, oldest first.
    list() {
      if (filter === "all") return [...getItems().values()].filter((n) => !archived.has(String(n.id)));
      return view.list;
    },
    onHistory(info) {
      prevAll = (info && info.prev) || "";
      archived.clear();
      refresh();
    },
    // onRead: a read changes the Unread view (the server's event: read follows the
    // stored mark, so the page fetched then is current).
    onRead() {
      if (filter === "unread") refresh();
    },
    onNotification(n) {
      if (filter !== "all") refresh();
      return n;
    },
    onInbox(d) {
      const ids = Array.isArray(d.ids) ? d.ids.map(String) : [];
      if (d.op === "archive") for (const id of ids) archived.add(id);
      if (d.op === "unarchive") {
        const cur = getItems();
        for (const id of ids) {
          archived.delete(id);
          // Back into All: one the live list never had goes where its time puts it.
          const n = known.get(id);
          if (n && !cur.has(n.id)) setItems(insertByTime(cur, n));
        }
      }
      if (filter !== "all") refresh();
      else render();
    },
  };
}

const why = (e) => (e && e.status ? `HTTP ${e.status}${e.detail ? ` (${e.detail})` : ""}` : (e && (e.detail || e.kind || e.message)) || "error");

// insertByTime returns map with n added before the first newer notification.
function insertByTime(map, n) {
  const t = Date.parse(n.created_at || "") || 0;
  const out = [];
  let done = false;
  for (const [id, m] of map) {
    if (!done && (Date.parse(m.created_at || "") || 0) > t) {
      out.push([n.id, n]);
      done = true;
    }
    out.push([id, m]);
  }
  if (!done) out.push([n.id, n]);
  return new Map(out);
}
