// The BroadcastChannel the tabs of one origin and one user share, keyed by user; each
// message is tagged with the user (and v: 1). leader.js says who sends what on it.

// openChannel opens sess's channel (sess.channel; null where it cannot be opened) and
// hands every message to onMessage.
export function openChannel(sess, onMessage) {
  try {
    sess.channel = new BroadcastChannel(sess.key);
    sess.channel.onmessage = (ev) => onMessage(ev.data);
  } catch {
    sess.channel = null;
  }
}

export function closeChannel(sess) {
  if (!sess.channel) return;
  sess.channel.onmessage = null;
  try {
    sess.channel.close();
  } catch {
    // already closed
  }
}

// post sends m to the user's other tabs.
export function post(sess, m) {
  if (!sess.channel || sess.dead) return;
  try {
    sess.channel.postMessage({ v: 1, user: sess.user, ...m });
  } catch {
    // a message that cannot be cloned or a closed channel: the other tabs resume by id
  }
}
