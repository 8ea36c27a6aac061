// The room page's media: what the <video> plays and how it follows the shared state.

// mediaURL is the lesson to play: ?video=<url> (same origin; the demo's policy allows
// no other), else a generated one-minute track, so the page (and its browser tests)
// works offline. The generated track is a WAV: a <video> plays audio-only media, and
// seeking in PCM is exact in every browser, with no codec or network involved.
export function mediaURL(param) {
  if (param) return param;
  return URL.createObjectURL(toneWav(60));
}

// toneWav builds seconds of 8 kHz 8-bit mono PCM: quiet, with a short tick each
// second so a listener hears the position move.
export function toneWav(seconds, rate = 8000) {
  const n = seconds * rate;
  const buf = new ArrayBuffer(44 + n);
  const v = new DataView(buf);
  const str = (off, s) => [...s].forEach((c, i) => v.setUint8(off + i, c.charCodeAt(0)));
  str(0, "RIFF");
  v.setUint32(4, 36 + n, true);
  str(8, "WAVEfmt ");
  v.setUint32(16, 16, true); // fmt chunk size
  v.setUint16(20, 1, true); // PCM
  v.setUint16(22, 1, true); // mono
  v.setUint32(24, rate, true);
  v.setUint32(28, rate, true); // bytes per second
  v.setUint16(32, 1, true); // block align
  v.setUint16(34, 8, true); // bits per sample
  str(36, "data");
  v.setUint32(40, n, true);
  for (let i = 0; i < n; i++) {
    const tick = i % rate < rate / 50 ? Math.round(20 * Math.sin((i * 2 * Math.PI * 880) / rate)) : 0;
    v.setUint8(44 + i, 128 + tick);
  }
  return new Blob([buf], { type: "audio/wav" });
}

// expected is where the class is now by state {playing, position, at}: position was
// taken at `at` (the teacher's Date.now()); while playing it has moved on since.
export function expected(state, now = Date.now()) {
  if (!state) return 0;
  const pos = Number(state.position) || 0;
  return state.playing ? pos + Math.max(0, (now - Number(state.at || now)) / 1000) : pos;
}

// follow brings the video to the state: a seek when it is more than half a second
// off (smaller drifts are not worth a stutter), then play or pause. A play the
// browser refuses (autoplay with sound) leaves the video paused until a click.
export function follow(video, state) {
  if (!state) return;
  let want = expected(state);
  if (Number.isFinite(video.duration)) want = Math.min(want, video.duration);
  if (Math.abs(video.currentTime - want) > 0.5) video.currentTime = want;
  if (state.playing && video.paused) video.play().catch(() => {});
  if (!state.playing && !video.paused) video.pause();
}

// clock formats seconds as m:ss.
export function clock(s) {
  const t = Math.max(0, Math.floor(s));
  return `${Math.floor(t / 60)}:${String(t % 60).padStart(2, "0")}`;
}
