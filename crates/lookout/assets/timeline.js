// The camera page's recording timeline (cameras that record): a bar of the last 1/6/24 h with
// what was recorded (runs) and events (marks) from /api/cameras/ID/recordings; a click or
// Enter plays recording.mp4 from that moment in the recorded <video>, "Live" goes back to the
// live picture; the export form makes a download link for a range.
"use strict";

(() => {
  const section = document.querySelector("[data-timeline]");
  if (!section) return;
  const bar = section.querySelector("[data-bar]");
  const ticks = section.querySelector("[data-ticks]");
  const status = section.querySelector("[data-timeline-status]");
  const liveButton = section.querySelector("[data-live]");
  const liveFigure = document.querySelector("figure.cam.large:not([data-recorded])");
  // The live player's status line (H.264, bitrate): not about the recording.
  const liveLabel = document.querySelector("[data-playback]");
  const recFigure = document.querySelector("figure[data-recorded]");
  const video = recFigure.querySelector("video");
  const form = section.querySelector("[data-export]");
  const link = section.querySelector("[data-export-link]");
  const exportStatus = section.querySelector("[data-export-status]");

  // What one click plays: up to 10 min from the clicked moment (recording.mp4 allows 6 h;
  // a short window starts fast and "Live" or another click moves on).
  const PLAY_WINDOW_MS = 10 * 60 * 1000;
  // The list is asked again this often, so the bar's right end stays "now".
  const REFRESH_MS = 10000;
  // Arrow keys move the cursor by 1/60 of the window (1 min of 1 h), Page keys by 1/6.
  const STEPS = 60;

  let windowMs = 3600 * 1000;
  let data = null;
  // The keyboard cursor, ms since the epoch; null: at the right end (now).
  let cursorMs = null;

  const clock = (ms) => new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  const stamp = (ms) => new Date(ms).toLocaleString();
  const span = () => [data.to_ms - windowMs, data.to_ms];
  const pct = (ms) => {
    const [from, to] = span();
    return Math.min(100, Math.max(0, ((ms - from) / (to - from)) * 100));
  };

  async function load() {
    const to = Date.now();
    const from = to - windowMs;
    const url = `${section.dataset.listUrl}?from=${from / 1000}&to=${to / 1000}`;
    try {
      const r = await fetch(url, { credentials: "same-origin" });
      const body = await r.json();
      if (!r.ok) throw new Error(body.error || r.statusText);
      data = body;
      draw();
    } catch (e) {
      status.textContent = `Cannot load the recordings: ${e.message}`;
    }
  }

  function draw() {
    const [from, to] = span();
    const parts = [];
    for (const run of data.runs) {
      const el = document.createElement("span");
      el.className = "run";
      el.style.left = `${pct(run.start_ms)}%`;
      el.style.width = `${Math.max(0, pct(run.end_ms) - pct(run.start_ms))}%`;
      el.title = `recorded ${clock(run.start_ms)}–${clock(run.end_ms)}`;
      el.dataset.start = run.start_ms;
      el.dataset.end = run.end_ms;
      parts.push(el);
    }
    for (const ev of data.events) {
      const t = ev.started_at * 1000;
      if (t < from || t > to) continue;
      const b = document.createElement("button");
      b.type = "button";
      b.className = `mark ${ev.kind}`;
      b.style.left = `${pct(t)}%`;
      b.setAttribute("aria-label", `${ev.kind.replace(/_/g, " ")} at ${clock(t)}${ev.clip ? ", play its clip" : ""}`);
      b.title = b.getAttribute("aria-label");
      b.addEventListener("click", (e) => {
        e.stopPropagation();
        playFrom(ev.clip ? ev.clip.start_ms : t);
      });
      parts.push(b);
    }
    if (cursorMs !== null) {
      const c = document.createElement("span");
      c.className = "cursor";
      c.style.left = `${pct(cursorMs)}%`;
      parts.push(c);
    }
    bar.replaceChildren(...parts);
    const labels = [];
    for (let i = 0; i <= 4; i++) {
      const s = document.createElement("span");
      s.textContent = clock(from + (i * windowMs) / 4);
      labels.push(s);
    }
    ticks.replaceChildren(...labels);
    const at = cursorMs ?? to;
    bar.setAttribute("aria-valuenow", String(Math.round(pct(at))));
    bar.setAttribute("aria-valuetext", `${clock(at)}${recordedAt(at) ? ", recorded" : ", not recorded"}`);
    if (!status.textContent || status.dataset.auto) {
      const mb = (data.bytes / 1e6).toFixed(1);
      status.textContent = data.runs.length
        ? `${data.runs.length} recorded part(s), ${mb} MB, ${data.events.length} event(s) in this window`
        : "Nothing recorded in this window.";
      status.dataset.auto = "1";
    }
  }

  const recordedAt = (ms) => data.runs.find((r) => r.start_ms <= ms && ms < r.end_ms);

  // The moment to play for a wish: inside a run as is, else the nearest recorded moment in
  // the window (a click just beside a thin run still plays it).
  function snap(ms) {
    if (recordedAt(ms)) return ms;
    let best = null;
    for (const r of data.runs) {
      const t = ms < r.start_ms ? r.start_ms : r.end_ms - 1000;
      if (best === null || Math.abs(t - ms) < Math.abs(best - ms)) best = Math.max(r.start_ms, t);
    }
    return best;
  }

  function say(text) {
    delete status.dataset.auto;
    status.textContent = text;
  }

  function playFrom(wish) {
    const start = snap(wish);
    if (start === null) {
      say("Nothing recorded in this window.");
      return;
    }
    // Within its run: a range across a change of the video format is refused (409).
    // The newest run still grows: its end in the list is already old.
    const run = recordedAt(start) || data.runs.find((r) => r.start_ms >= start);
    const growing = run === data.runs[data.runs.length - 1] && data.to_ms - run.end_ms < REFRESH_MS;
    const end = run && !growing
      ? Math.min(start + PLAY_WINDOW_MS, Math.max(run.end_ms, start + 1000))
      : start + PLAY_WINDOW_MS;
    const url = `${section.dataset.mp4Url}?start=${start / 1000}&end=${end / 1000}`;
    liveFigure.hidden = true;
    if (liveLabel) liveLabel.hidden = true;
    recFigure.hidden = false;
    liveButton.disabled = false;
    video.src = url;
    video.dataset.startMs = start;
    video.play().catch(() => {});
    say(`Playing the recording from ${clock(start)} (from the key frame before it).`);
    fillExport(start, end);
  }

  video.addEventListener("error", async () => {
    if (!video.getAttribute("src")) return;
    // The reason is in the JSON of the refusal.
    try {
      const r = await fetch(video.src, { credentials: "same-origin" });
      const body = r.ok ? {} : await r.json();
      say(`Cannot play: ${body.error || "the browser cannot play this recording"}`);
    } catch (e) {
      say(`Cannot play: ${e.message}`);
    }
  });

  function live() {
    video.pause();
    video.removeAttribute("src");
    video.load();
    recFigure.hidden = true;
    liveFigure.hidden = false;
    if (liveLabel) liveLabel.hidden = false;
    liveButton.disabled = true;
    say("Live.");
  }

  liveButton.addEventListener("click", live);

  bar.addEventListener("click", (e) => {
    if (!data) return;
    const box = bar.getBoundingClientRect();
    const [from] = span();
    const t = from + ((e.clientX - box.left) / box.width) * windowMs;
    cursorMs = t;
    playFrom(t);
    draw();
  });

  bar.addEventListener("keydown", (e) => {
    if (!data) return;
    const [from, to] = span();
    const step = windowMs / STEPS;
    const at = cursorMs ?? to;
    const moves = {
      ArrowLeft: at - step, ArrowDown: at - step, ArrowRight: at + step, ArrowUp: at + step,
      PageDown: at - windowMs / 6, PageUp: at + windowMs / 6, Home: from, End: to,
    };
    if (e.key in moves) {
      cursorMs = Math.min(to, Math.max(from, moves[e.key]));
      draw();
    } else if (e.key === "Enter" || e.key === " ") {
      playFrom(at);
    } else {
      return;
    }
    e.preventDefault();
  });

  for (const b of section.querySelectorAll("[data-window-h]")) {
    b.addEventListener("click", () => {
      windowMs = Number(b.dataset.windowH) * 3600 * 1000;
      for (const o of section.querySelectorAll("[data-window-h]")) {
        o.setAttribute("aria-pressed", String(o === b));
      }
      cursorMs = null;
      status.dataset.auto = "1";
      load();
    });
  }

  // datetime-local holds local time without a zone; Date reads it as local time.
  const local = (ms) => {
    const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60000);
    return d.toISOString().slice(0, 19);
  };

  function fillExport(start, end) {
    form.elements.start.value = local(start);
    form.elements.end.value = local(end);
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const start = new Date(form.elements.start.value).getTime();
    const end = new Date(form.elements.end.value).getTime();
    if (!(end > start)) {
      exportStatus.textContent = "The end must be after the start.";
      link.hidden = true;
      return;
    }
    if (end - start > 6 * 3600 * 1000) {
      exportStatus.textContent = "At most 6 hours per file: export it in parts.";
      link.hidden = true;
      return;
    }
    exportStatus.textContent = "";
    link.href = `${section.dataset.mp4Url}?start=${start / 1000}&end=${end / 1000}&download=1`;
    link.textContent = `Download ${stamp(start)} – ${stamp(end)} (.mp4)`;
    link.hidden = false;
  });

  const now = Date.now();
  fillExport(now - 10 * 60 * 1000, now);
  status.dataset.auto = "1";
  load();
  setInterval(() => {
    if (!document.hidden) load();
  }, REFRESH_MS);
})();
