// The demo's "Watch together" page: a class in one room (rooms.js through
// notifications.js). A teacher's token (roles: teacher) gets the class's playback
// controls and steers the shared state {playing, position, at}; a student's <video>
// follows it. Everyone asks questions and sees who is there.
import { joinRoom, userFromToken } from "../client/notifications.js";
import { follow, mediaURL, clock } from "./room-media.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const roomId = params.get("room") || "demo-class";
// What the page shows, for anyone (and the browser tests) to inspect.
const shown = { status: "connecting", members: [], questions: [], state: null, version: 0, teacher: false, errors: [] };
window.vividlyRoom = shown;

// --- Credentials ---------------------------------------------------------------
// In `make run` the local server mints development tokens (/demo/dev-token) for the
// user and role in the URL; anywhere else the page asks for a JWT.
async function devToken() {
  const q = new URLSearchParams({ user: params.get("user") || "student-1", groups: roomId });
  if (params.get("role") === "teacher") q.set("roles", "teacher");
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

// isTeacher reads the roles claim as the server does (an array of strings, or one).
function isTeacher(t) {
  const roles = claims(t)[params.get("roles_claim") || "roles"];
  return roles === "teacher" || (Array.isArray(roles) && roles.includes("teacher"));
}

async function credentials() {
  try {
    const t = await devToken();
    return { token: t, getToken: devToken };
  } catch {
    // Not the local system: ask for a token.
  }
  $("login").hidden = false;
  const t = await new Promise((resolve) => {
    $("login-form").addEventListener("submit", (e) => {
      e.preventDefault();
      resolve($("jwt").value.trim());
    });
  });
  $("login").hidden = true;
  return { token: t, getToken: () => t };
}

// --- The page ------------------------------------------------------------------
const video = $("video");
video.src = mediaURL(params.get("video"));

function renderMembers(members) {
  shown.members = members.map((m) => m.user);
  $("member-count").textContent = String(members.length);
  $("members").replaceChildren(...members.map((m) => {
    const li = document.createElement("li");
    li.textContent = m.user + (m.teacher ? " (teacher)" : "");
    li.dataset.user = m.user;
    return li;
  }));
}

function addQuestion(m) {
  shown.questions.push({ id: m.id, user: m.user, text: m.text });
  const li = document.createElement("li");
  li.dataset.id = m.id;
  const who = document.createElement("strong");
  who.textContent = m.user + ": ";
  li.append(who, document.createTextNode(m.text));
  $("questions").append(li);
  $("no-questions").hidden = true;
}

function setStatus(state) {
  shown.status = state;
  const el = $("conn");
  el.dataset.state = state;
  el.textContent = { connecting: "Connecting…", open: "Connected", reconnecting: "Reconnecting…", refused: "Not a member of this room", closed: "Left" }[state] || state;
}

async function main() {
  const { token, getToken } = await credentials();
  const user = userFromToken(token) || "?";
  const teacher = isTeacher(token);
  shown.teacher = teacher;
  $("user").textContent = user;
  $("room-name").textContent = roomId;
  $("teacher-controls").hidden = !teacher;
  $("role-note").textContent = teacher
    ? "You lead the class: play, pause and seek here and every student's video follows."
    : "Your teacher controls playback; this video follows.";

  let wanted = null; // the teacher's last change, sent again after a conflict
  const room = joinRoom(roomId, {
    getToken,
    onStatus: (s) => setStatus(s.state),
    onMessages: (list) => {
      shown.questions = [];
      $("questions").replaceChildren();
      $("no-questions").hidden = list.length > 0;
      list.forEach(addQuestion);
    },
    onMessage: addQuestion,
    onPresence: renderMembers,
    onState: ({ state, version, by }) => {
      shown.state = state;
      shown.version = version;
      follow(video, state);
      if (teacher) $("play").textContent = state?.playing ? "Pause for everyone" : "Play for everyone";
      if (by && !teacher) $("follow").textContent = `${by} ${state?.playing ? "played" : "paused"} at ${clock(state?.position || 0)}.`;
    },
    onError: (e) => {
      shown.errors.push(e.code);
      if (e.code === "conflict" && wanted) setTimeout(() => room.setState(wanted, room.version), 100);
      else if (e.code === "rate_limited") $("ask-result").textContent = "Slow down: at most 5 questions a second.";
    },
  });
  window.vividlyRoomHandle = room;
  video.addEventListener("loadedmetadata", () => {
    $("seek").max = String(Math.floor(video.duration || 60));
    follow(video, room.state);
  });
  video.addEventListener("timeupdate", () => {
    $("position").textContent = clock(video.currentTime);
    if (document.activeElement !== $("seek")) $("seek").value = String(Math.floor(video.currentTime));
  });
  // While playing, small drifts (a slow tab, a late frame) are corrected.
  setInterval(() => follow(video, room.state), 2000);

  const change = (playing, position) => {
    const max = Number.isFinite(video.duration) ? video.duration : Infinity;
    wanted = { playing, position: Math.max(0, Math.min(max, position)), at: Date.now() };
    follow(video, wanted);
    room.setState(wanted, room.version);
  };
  $("play").addEventListener("click", () => change(!room.state?.playing, video.currentTime));
  $("back").addEventListener("click", () => change(!!room.state?.playing, video.currentTime - 10));
  $("forward").addEventListener("click", () => change(!!room.state?.playing, video.currentTime + 10));
  $("seek").addEventListener("change", () => change(!!room.state?.playing, Number($("seek").value)));
  $("mute").addEventListener("click", () => {
    video.muted = !video.muted;
    $("mute").setAttribute("aria-pressed", String(video.muted));
    $("mute").textContent = video.muted ? "Sound off" : "Sound on";
  });
  $("ask-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const text = $("ask").value.trim();
    if (!text) return;
    room.send(text);
    $("ask").value = "";
    $("ask-result").textContent = "Sent.";
  });
}

main();
