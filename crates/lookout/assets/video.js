// The camera page's H.264 player: the camera's stream.mp4 (fragmented MP4) through Media
// Source Extensions, with the MJPEG <img> as the fallback. Loaded on camera pages whose camera
// offers H.264; app.js does the rest of the page.
"use strict";

// One player per <video data-mp4>: the camera page's, and the grid's H.264-only cameras.
function playH264(video) {
  const img = video.parentElement.querySelector("img");
  const camera = video.closest("[data-camera]");
  const label = camera ? camera.querySelector("[data-playback]") : null;
  const jpegToo = (video.dataset.codecs || "").split(",").includes("jpeg");
  // iOS 17.1+ has only ManagedMediaSource.
  const MS = window.ManagedMediaSource || window.MediaSource;
  // Latency targets (issue 13: camera to decoded frame under 0.5 s): past MAX_LAG_S behind
  // the newest frame, jump to it; past SPEED_UP_LAG_S, play 10% faster until caught up.
  const MAX_LAG_S = 0.5;
  const SPEED_UP_LAG_S = 0.15;
  // Reconnect after 1, 2, 4... s, at most 15 s; MJPEG after 3 failures in a row.
  const MAX_BACKOFF_MS = 15000;
  const FAILURES_BEFORE_MJPEG = 3;
  const BITRATE_WINDOW_MS = 5000;

  let failures = 0;
  let bytes = 0;
  let mode = "h264";
  let note = "connecting";
  // A response is being read: the bitrate line is about it.
  let streaming = false;

  const show = () => {
    if (label) label.textContent = mode === "h264" ? `H.264 · ${note}` : `MJPEG · ${note}`;
    video.parentElement.dataset.playing = mode;
  };

  setInterval(() => {
    if (mode === "h264" && streaming) {
      note = `${(bytes * 8 / (BITRATE_WINDOW_MS / 1000) / 1e6).toFixed(2)} Mbit/s`;
      show();
    }
    bytes = 0;
  }, BITRATE_WINDOW_MS);

  function mjpeg(reason) {
    mode = "mjpeg";
    note = reason;
    video.hidden = true;
    video.removeAttribute("src");
    video.load();
    if (img) {
      img.hidden = false;
      if (!img.getAttribute("src")) img.src = img.dataset.src;
    }
    show();
  }

  function retry(reason) {
    failures += 1;
    if (jpegToo && failures >= FAILURES_BEFORE_MJPEG) {
      mjpeg(`H.264 failed ${failures} times (${reason})`);
      return;
    }
    const delay = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** (failures - 1));
    note = `${reason}; reconnecting in ${delay / 1000} s`;
    show();
    setTimeout(play, delay);
  }

  async function play() {
    const abort = new AbortController();
    let resp;
    try {
      resp = await fetch(video.dataset.mp4, { cache: "no-store", signal: abort.signal });
    } catch (_) {
      retry("cannot reach the server");
      return;
    }
    if (resp.status === 401) {
      location.href = `${document.body.dataset.base || ""}/login?next=${encodeURIComponent(location.pathname)}`;
      return;
    }
    if (!resp.ok) {
      let why = `HTTP ${resp.status}`;
      try { why = (await resp.json()).error || why; } catch (_) { /* not JSON */ }
      if (resp.status === 404 && jpegToo) mjpeg(why); else retry(why);
      return;
    }
    const codec = resp.headers.get("x-lookout-codec");
    // Capture time (Unix s) of media time 0, for measuring latency (tests/browser/h264.mjs).
    video.dataset.start = resp.headers.get("x-lookout-start") || "";
    const type = `video/mp4; codecs="${codec}"`;
    if (!codec || !MS.isTypeSupported(type)) {
      abort.abort();
      const why = `this browser cannot play H.264 ${codec}`;
      if (jpegToo) mjpeg(why); else { note = why; show(); }
      return;
    }
    const source = new MS();
    if (MS === window.ManagedMediaSource) video.disableRemotePlayback = true;
    video.src = URL.createObjectURL(source);
    await new Promise((resolve) => source.addEventListener("sourceopen", resolve, { once: true }));
    URL.revokeObjectURL(video.src);
    const buffer = source.addSourceBuffer(type);
    // The server gives each viewer a timeline from 0 without gaps: segments mode is exact.
    buffer.mode = "segments";
    const queue = [];
    let broken = null;
    const fail = (why) => { broken = broken || why; abort.abort(); };

    const trim = () => {
      const b = video.buffered;
      if (!b.length) return;
      const end = b.end(b.length - 1);
      const lag = end - video.currentTime;
      // A joiner gets the GOP so far at once, up to a key-frame interval behind: skip it.
      if (lag > MAX_LAG_S) video.currentTime = end - 0.1;
      else video.playbackRate = lag > SPEED_UP_LAG_S ? 1.1 : 1.0;
      // Keep ~10 s behind the playhead: Chromium's quota is ~150 MB per SourceBuffer.
      if (!buffer.updating && video.currentTime - b.start(0) > 20) {
        buffer.remove(0, video.currentTime - 10);
      }
    };
    const pump = () => {
      if (buffer.updating || !queue.length || source.readyState !== "open") return;
      const size = queue.reduce((n, c) => n + c.length, 0);
      const chunk = new Uint8Array(size);
      let at = 0;
      for (const c of queue.splice(0)) { chunk.set(c, at); at += c.length; }
      try {
        buffer.appendBuffer(chunk);
      } catch (e) {
        fail(e.name === "QuotaExceededError" ? "browser buffer full" : `append failed: ${e.message}`);
      }
    };
    buffer.addEventListener("updateend", () => { trim(); pump(); });
    video.onerror = () => fail(`decoder error ${video.error ? video.error.code : ""}`);
    // A hole in what is buffered (should not happen: the server fills them): jump over it.
    video.onwaiting = () => {
      const b = video.buffered;
      for (let i = 0; i < b.length; i += 1) {
        if (b.start(i) > video.currentTime) { video.currentTime = b.start(i); break; }
      }
    };
    video.onplaying = () => { failures = 0; };

    mode = "h264";
    video.hidden = false;
    if (img) {
      img.hidden = true;
      // The MJPEG stream would hold a connection and its bandwidth: stop it.
      img.removeAttribute("src");
    }
    note = "starting";
    show();
    video.play().catch(() => { /* autoplay waits for the first frame */ });

    streaming = true;
    try {
      const reader = resp.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        bytes += value.length;
        queue.push(value);
        pump();
      }
    } catch (_) {
      // Aborted by fail(), or the connection dropped.
    }
    streaming = false;
    if (source.readyState === "open" && !buffer.updating) {
      try { source.endOfStream(); } catch (_) { /* already closed */ }
    }
    // The response ends when the camera's codec parameters change, the server restarts or the
    // network drops: start over with a new MediaSource.
    retry(broken || "the stream ended");
  }

  if (!MS) {
    const why = "this browser has no Media Source Extensions";
    if (jpegToo) mjpeg(why); else { mode = "h264"; note = why; show(); }
    return;
  }
  show();
  play();
}

for (const video of document.querySelectorAll("video[data-mp4]")) playH264(video);
