// The camera page's H.264 player: WebRTC over WHEP first (data-whep: the lowest delay), then
// the camera's stream.mp4 (fragmented MP4) through Media Source Extensions, then the MJPEG
// <img>. Loaded on camera pages whose camera offers H.264; app.js does the rest of the page.
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
  // Why WebRTC is not playing, when the page tried it first.
  let webrtcWhy = "";

  const show = () => {
    if (label) {
      label.textContent = mode === "h264" ? `H.264 · ${note}` : `MJPEG · ${note}`;
      if (webrtcWhy) label.textContent += ` (not WebRTC: ${webrtcWhy})`;
    }
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

  function startMse(why) {
    if (why) webrtcWhy = why;
    if (!MS) {
      const reason = "this browser has no Media Source Extensions";
      if (jpegToo) mjpeg(reason); else { mode = "h264"; note = reason; show(); }
      return;
    }
    mode = "h264";
    note = "connecting";
    show();
    play();
  }

  if (video.dataset.whep) {
    playWebRTC(video, {
      onState: (text) => { if (label) label.textContent = `WebRTC · ${text}`; video.parentElement.dataset.playing = "webrtc"; },
      onGiveUp: startMse,
      hideImg: () => { if (img) { img.hidden = true; img.removeAttribute("src"); } },
    });
    return;
  }
  startMse();
}

// WebRTC: POST the offer to the WHEP URL, play the answer's track. Not connected within
// CONNECT_MS (UDP blocked, no port forwarding), or FAILURES_BEFORE_MSE failures in a row:
// onGiveUp(reason) and the MSE player takes over. A drop later reconnects with backoff.
function playWebRTC(video, { onState, onGiveUp, hideImg }) {
  const CONNECT_MS = 5000;
  const FAILURES_BEFORE_MSE = 3;
  const MAX_BACKOFF_MS = 15000;
  const STATS_MS = 2000;
  let failures = 0;
  let pc = null;
  let resource = null;
  let statsTimer = null;
  let gaveUp = false;

  const csrf = video.dataset.csrf || "";
  const end = () => {
    if (statsTimer) { clearInterval(statsTimer); statsTimer = null; }
    if (pc) { pc.onconnectionstatechange = null; pc.close(); pc = null; }
    if (resource) {
      fetch(resource, { method: "DELETE", headers: { "X-CSRF-Token": csrf }, keepalive: true }).catch(() => {});
      resource = null;
    }
  };
  const giveUp = (why) => {
    if (gaveUp) return;
    gaveUp = true;
    end();
    onGiveUp(why);
  };
  const fail = (why, permanent) => {
    end();
    failures += 1;
    if (permanent || failures >= FAILURES_BEFORE_MSE) { giveUp(why); return; }
    const delay = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** (failures - 1));
    onState(`${why}; reconnecting in ${delay / 1000} s`);
    setTimeout(start, delay);
  };

  if (!window.RTCPeerConnection) { onGiveUp("no WebRTC in this browser"); return; }
  const caps = window.RTCRtpReceiver && RTCRtpReceiver.getCapabilities
    ? RTCRtpReceiver.getCapabilities("video") : null;
  const h264 = caps ? caps.codecs.filter((c) => c.mimeType.toLowerCase() === "video/h264"
    && /packetization-mode=1/.test(c.sdpFmtpLine || "")) : [];
  if (caps && !h264.length) { onGiveUp("this browser's WebRTC has no H.264"); return; }
  addEventListener("pagehide", end);

  async function start() {
    if (gaveUp) return;
    onState("connecting");
    pc = new RTCPeerConnection({ bundlePolicy: "max-bundle" });
    const mine = pc;
    const t = pc.addTransceiver("video", { direction: "recvonly" });
    if (h264.length && t.setCodecPreferences) {
      try { t.setCodecPreferences(h264); } catch (_) { /* keep the browser's order */ }
    }
    pc.ontrack = (e) => {
      video.srcObject = e.streams[0] || new MediaStream([e.track]);
      // The lowest delay: no extra jitter buffer (Chromium).
      if ("jitterBufferTarget" in e.receiver) e.receiver.jitterBufferTarget = 0;
      video.hidden = false;
      hideImg();
      video.play().catch(() => { /* autoplay waits for the first frame */ });
    };
    await pc.setLocalDescription();
    let resp;
    try {
      // An ICE-lite server learns our address from our checks: no need to wait for candidates.
      resp = await fetch(video.dataset.whep, {
        method: "POST",
        headers: { "Content-Type": "application/sdp", "X-CSRF-Token": csrf },
        body: pc.localDescription.sdp,
        cache: "no-store",
      });
    } catch (_) {
      fail("cannot reach the server", false);
      return;
    }
    if (pc !== mine) return;
    if (resp.status === 401) {
      location.href = `${document.body.dataset.base || ""}/login?next=${encodeURIComponent(location.pathname)}`;
      return;
    }
    if (resp.status !== 201) {
      let why = `HTTP ${resp.status}`;
      try { why = (await resp.json()).error || why; } catch (_) { /* not JSON */ }
      // A refusal that will not change by retrying (no H.264 for WebRTC, WebRTC off, limits).
      fail(why, resp.status !== 503 || failures + 1 >= FAILURES_BEFORE_MSE);
      return;
    }
    resource = new URL(resp.headers.get("Location"), location.href).href;
    await pc.setRemoteDescription({ type: "answer", sdp: await resp.text() });
    const timer = setTimeout(() => {
      if (pc === mine && pc.connectionState !== "connected") {
        giveUp(`no WebRTC connection within ${CONNECT_MS / 1000} s (UDP port unreachable?)`);
      }
    }, CONNECT_MS);
    pc.onconnectionstatechange = () => {
      if (pc !== mine) return;
      const s = pc.connectionState;
      if (s === "connected") {
        clearTimeout(timer);
        failures = 0;
        onState("connected");
        watch(mine);
      } else if (s === "failed" || s === "closed" || s === "disconnected") {
        clearTimeout(timer);
        fail(`connection ${s}`, false);
      }
    };
  }

  // The label: received bit rate and the receiver's delay, from getStats().
  function watch(mine) {
    let lastBytes = 0;
    let lastAt = performance.now();
    statsTimer = setInterval(async () => {
      if (pc !== mine) return;
      const stats = await mine.getStats();
      stats.forEach((r) => {
        if (r.type !== "inbound-rtp" || r.kind !== "video") return;
        const now = performance.now();
        const mbit = ((r.bytesReceived - lastBytes) * 8) / ((now - lastAt) / 1000) / 1e6;
        lastBytes = r.bytesReceived;
        lastAt = now;
        const delay = r.jitterBufferEmittedCount
          ? ` · ${Math.round((r.jitterBufferDelay / r.jitterBufferEmittedCount) * 1000)} ms buffer` : "";
        onState(`${mbit.toFixed(2)} Mbit/s${delay}`);
      });
    }, STATS_MS);
  }

  start();
}

for (const video of document.querySelectorAll("video[data-mp4]")) playH264(video);
