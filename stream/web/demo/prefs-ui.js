// The preferences panel's inbox part (issue 28): per type, "do not push" beside the
// in-app mute demo.js draws (push_muted_types: shown in the app, never pushed), and
// quiet hours (start, end, an IANA time zone) during which pushes are held and one
// summary goes out when they end. Saved with the one preferences call (setPreferences).

// Common zones, plus the browser's own (added first when it is not among them).
const ZONES = [
  "UTC", "Europe/London", "Europe/Berlin", "Europe/Paris", "Europe/Madrid", "Europe/Warsaw",
  "Europe/Athens", "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles",
  "America/Sao_Paulo", "Asia/Kolkata", "Asia/Singapore", "Asia/Tokyo", "Australia/Sydney",
];

export const browserZone = () => {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  } catch {
    return "UTC";
  }
};

// build draws the push-only switches for types and fills the time zone select.
export function build($, types) {
  const box = $("push-mute-types");
  box.replaceChildren();
  for (const [type, label] of types) {
    const l = document.createElement("label");
    const c = document.createElement("input");
    c.type = "checkbox";
    c.name = "push-muted";
    c.value = type;
    l.append(c, ` ${label}`);
    box.append(l);
  }
  const sel = $("qh-zone");
  sel.replaceChildren();
  const own = browserZone();
  for (const z of ZONES.includes(own) ? ZONES : [own, ...ZONES]) {
    const o = document.createElement("option");
    o.value = z;
    o.textContent = z === own ? `${z} (this browser)` : z;
    sel.append(o);
  }
  sel.value = own;
  const sync = () => {
    const on = $("qh-on").checked;
    for (const id of ["qh-start", "qh-end", "qh-zone"]) $(id).disabled = !on;
  };
  $("qh-on").addEventListener("change", sync);
  sync();
}

// show puts the stored document p into the form.
export function show($, p) {
  const pm = p.push_muted_types || [];
  for (const c of document.querySelectorAll('input[name="push-muted"]')) c.checked = pm.includes(c.value);
  const q = p.quiet_hours;
  $("qh-on").checked = !!q;
  if (q) {
    $("qh-start").value = q.start;
    $("qh-end").value = q.end;
    const sel = $("qh-zone");
    if (![...sel.options].some((o) => o.value === q.time_zone)) {
      const o = document.createElement("option");
      o.value = o.textContent = q.time_zone; // a zone stored elsewhere stays selectable
      sel.append(o);
    }
    sel.value = q.time_zone;
  }
  for (const id of ["qh-start", "qh-end", "qh-zone"]) $(id).disabled = !q;
}

// read returns the form's part of the document: push_muted_types (types the form does
// not list kept from stored p) and quiet_hours (null when off).
export function read($, p, types) {
  const listed = new Set(types.map(([k]) => k));
  const other = ((p && p.push_muted_types) || []).filter((t) => !listed.has(t));
  const checked = [...document.querySelectorAll('input[name="push-muted"]:checked')].map((c) => c.value);
  const on = $("qh-on").checked && $("qh-start").value && $("qh-end").value;
  return {
    push_muted_types: [...other, ...checked],
    quiet_hours: on ? { start: $("qh-start").value.slice(0, 5), end: $("qh-end").value.slice(0, 5), time_zone: $("qh-zone").value } : null,
  };
}
