// The demo's teacher view (issue 29): pick a class, pick one of its recent announcements,
// see how many of the class saw and read it and who (GET /api/v1/receipts,
// docs/PROTOCOL.md "Receipts and export"). The page polls: a student's read mark goes to
// that student's streams, not the teacher's, so nothing would tell this page; every few
// seconds it asks again (one history and one receipts request, both cheap). It opens no stream of its
// own: a stream records its user as a member, and the teacher would count in the
// audience of their own announcement.
//
// URL: receipts.html?user=teacher-1&class=demo-class[,other-class][&refresh_ms=3000]
// [&page=50][&base=<stream origin>]. With `make run` the local server mints the teacher's
// token (/demo/dev-token, roles=teacher, groups=the classes); anywhere else the page asks
// for a JWT.

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const classes = (params.get("class") || "demo-class").split(",").filter(Boolean);
const refreshMs = Math.max(500, Number(params.get("refresh_ms")) || 3000);
const pageSize = Math.min(1000, Math.max(1, Number(params.get("page")) || 50));
const base = (params.get("base") || location.origin).replace(/\/+$/, "");

// What the page shows, for anyone (and the browser tests) to inspect.
const shown = { status: "loading", user: "", classes: [], announcements: [], selected: "", report: null, errors: [], refreshes: 0 };
window.vividlyReceipts = shown;

// --- Credentials ---------------------------------------------------------------
let token = "";
let fromHelper = false;

async function devToken() {
  const q = new URLSearchParams({ user: params.get("user") || "teacher-1", groups: classes.join(","), roles: "teacher" });
  const res = await fetch(`dev-token?${q}`);
  if (!res.ok) throw new Error(`dev-token: HTTP ${res.status}`);
  return (await res.json()).token;
}

function claims(t) {
  try {
    return JSON.parse(atob(t.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
  } catch {
    return {};
  }
}

const list = (v) => (Array.isArray(v) ? v : typeof v === "string" ? [v] : []).filter((x) => typeof x === "string");

async function signIn() {
  try {
    token = await devToken();
    fromHelper = true;
    return;
  } catch {
    // Not the local system: ask for a token.
  }
  $("login").hidden = false;
  token = await new Promise((resolve) => {
    $("login-form").addEventListener("submit", (e) => {
      e.preventDefault();
      resolve($("jwt").value.trim());
    });
  });
  $("login").hidden = true;
}

// --- Requests ------------------------------------------------------------------
class HTTPError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function api(path) {
  let res = await fetch(base + path, { headers: { Authorization: `Bearer ${token}` } });
  if (res.status === 401 && fromHelper) {
    token = await devToken(); // expired: the helper signs a new one
    res = await fetch(base + path, { headers: { Authorization: `Bearer ${token}` } });
  }
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new HTTPError(res.status, body.error || `HTTP ${res.status}`);
  return body;
}

// --- Rendering -----------------------------------------------------------------
function setStatus(state, text) {
  shown.status = state;
  $("status").dataset.state = state;
  $("status").textContent = text;
}

function when(iso) {
  return iso ? new Date(iso).toLocaleString() : "";
}

const name = (n) => n.title || n.body || n.type || n.id;

function renderAnnouncements() {
  const items = shown.announcements;
  $("no-announcements").hidden = items.length > 0;
  $("announcements").replaceChildren(...items.map((n) => {
    const li = document.createElement("li");
    const b = document.createElement("button");
    b.type = "button";
    b.dataset.id = n.id;
    b.setAttribute("aria-pressed", String(n.id === shown.selected));
    const time = document.createElement("span");
    time.className = "rc-time";
    time.textContent = when(n.created_at);
    b.append(document.createTextNode(name(n)), time);
    b.addEventListener("click", () => select(n.id));
    li.append(b);
    return li;
  }));
}

function cell(text, not) {
  const td = document.createElement("td");
  td.textContent = text;
  if (not) td.className = "rc-not";
  return td;
}

function renderReport() {
  const r = shown.report;
  const n = shown.announcements.find((a) => a.id === shown.selected);
  $("report").hidden = !r;
  if (!r) return;
  $("report-name").textContent = n ? name(n) : shown.selected;
  const summary = `${r.read} of ${r.audience} read · ${r.seen} of ${r.audience} seen`;
  // A live region: written only when it changes, so a screen reader hears each change once.
  if ($("summary").textContent !== summary) $("summary").textContent = summary;
  $("no-readers").hidden = r.readers.length > 0;
  $("readers").replaceChildren(...r.readers.map((x) => {
    const tr = document.createElement("tr");
    tr.dataset.user = x.user;
    const th = document.createElement("th");
    th.scope = "row";
    th.textContent = x.user;
    tr.append(th, cell(x.seen_at ? when(x.seen_at) : "not yet", !x.seen_at), cell(x.read_at ? when(x.read_at) : "not yet", !x.read_at));
    return tr;
  }));
  const hadFocus = document.activeElement === $("more");
  $("more").hidden = !r.next;
  if (hadFocus && !r.next) {
    // The button is gone with the last page: keep the keyboard's place, on the last reader.
    const last = $("readers").lastElementChild?.querySelector("th");
    if (last) {
      last.tabIndex = -1;
      last.focus();
    }
  }
  $("updated").textContent = `Updated ${new Date().toLocaleTimeString()}; refreshes every ${refreshMs / 1000} s.`;
}

// --- Data ----------------------------------------------------------------------
const currentClass = () => $("class").value;

// loadAnnouncements lists the class's notifications from the teacher's history (which
// includes the group logs the token names), newest first. A group notification's id
// is "@<group>:<position>".
async function loadAnnouncements() {
  const body = await api("/api/v1/notifications?limit=200");
  const prefix = `@${currentClass()}:`;
  shown.announcements = (body.notifications || []).filter((n) => n.id.startsWith(prefix)).reverse()
    .map((n) => ({ id: n.id, type: n.type, title: n.title || "", body: n.body || "", created_at: n.created_at }));
  if (!shown.selected && shown.announcements.length) shown.selected = shown.announcements[0].id;
  renderAnnouncements();
}

function receiptsPath(after, limit) {
  const q = new URLSearchParams({ notification: shown.selected, limit: String(limit) });
  if (after) q.set("after", after);
  return `/api/v1/receipts?${q}`;
}

// want is how many readers the teacher asked to see: a page, and one more page for
// each "Load more". Each refresh loads that many again from the first reader (whole
// pages of up to 1000, following next), so a refresh never undoes a "Load more" and a
// click never races a refresh.
let want = pageSize;

// loadReceipts refreshes the selected announcement's report.
async function loadReceipts() {
  const id = shown.selected;
  if (!id) {
    shown.report = null;
    renderReport();
    return;
  }
  let r = null;
  const readers = [];
  let after = "";
  do {
    r = await api(receiptsPath(after, Math.min(1000, want - readers.length)));
    readers.push(...r.readers);
    after = r.next;
  } while (after && readers.length < want);
  if (id !== shown.selected) return; // the teacher picked another meanwhile
  shown.report = { id, audience: r.audience, seen: r.seen, read: r.read, readers, next: r.next };
  renderReport();
}

function loadMore() {
  want += pageSize;
  refresh();
}

// failed shows why the page cannot report: 501 means this system keeps no receipts
// (the in-memory broker of plain `make run`), 403 that the token is not a teacher of
// the class; anything else may pass, so the next refresh tries again.
function failed(e) {
  shown.errors.push(String(e.message || e));
  if (e.status === 501) {
    stop();
    setStatus("off", "Receipts off");
    $("notice-text").textContent = "This system keeps no read receipts: it runs with the in-memory broker " +
      "(plain `make run`). Receipts need Redis: start it with REDIS_ADDR set, e.g. " +
      "`REDIS_ADDR=127.0.0.1:6379 make run`, then reload this page.";
    $("notice").hidden = false;
    return;
  }
  if (e.status === 403) {
    setStatus("error", "Not allowed");
    $("notice-title").textContent = "Only the class's teachers see receipts";
    $("notice-text").textContent = `The server refused: ${e.message}. The token needs the role "teacher" and the class in its groups.`;
    $("notice").hidden = false;
    return;
  }
  setStatus("error", `Retrying: ${e.message}`);
}

let timer = 0;
let busy = false;
let again = false;

// refresh reloads the announcements and the report. One at a time: a tick that finds
// one running is dropped (no pile-up behind a slow server), a click that does runs
// once more after it (its change is not lost).
async function refresh(fromTimer) {
  if (busy) {
    again ||= !fromTimer;
    return;
  }
  busy = true;
  try {
    do {
      again = false;
      await loadAnnouncements();
      await loadReceipts();
      $("notice").hidden = true;
      setStatus("live", "Up to date");
      shown.refreshes++;
    } while (again);
  } catch (e) {
    failed(e);
  } finally {
    busy = false;
  }
}

function stop() {
  clearInterval(timer);
  timer = 0;
}

function select(id) {
  shown.selected = id;
  shown.report = null;
  want = pageSize;
  renderAnnouncements();
  renderReport();
  refresh();
}

// --- Start ---------------------------------------------------------------------
async function main() {
  await signIn();
  const c = claims(token);
  shown.user = c.sub || "";
  const groups = list(c[params.get("groups_claim") || "groups"]);
  shown.classes = classes.filter((g) => groups.includes(g)).concat(groups.filter((g) => !classes.includes(g)));
  $("class").replaceChildren(...shown.classes.map((g) => new Option(g, g)));
  const teacher = list(c[params.get("roles_claim") || "roles"]).includes("teacher");
  $("who").textContent = `Signed in as ${shown.user || "?"}${teacher ? " (teacher)" : " — not a teacher: the server will refuse"}.`;
  $("class").addEventListener("change", () => {
    shown.selected = "";
    shown.report = null;
    want = pageSize;
    renderReport();
    refresh();
  });
  $("more").addEventListener("click", loadMore);
  if (!shown.classes.length) {
    setStatus("error", "No class");
    $("notice-title").textContent = "No class in this token";
    $("notice-text").textContent = "The token's groups claim names no class.";
    $("notice").hidden = false;
    return;
  }
  // Ask once whether this system keeps receipts at all: without an id the server
  // answers 400 when it does, 501 when it does not (so the notice shows even before
  // the class has any announcement).
  try {
    await api("/api/v1/receipts");
  } catch (e) {
    if (e.status === 501) return failed(e);
  }
  await refresh();
  if (shown.status !== "off") timer = setInterval(() => refresh(true), refreshMs);
}

main().catch((e) => setStatus("error", String(e.message || e)));
