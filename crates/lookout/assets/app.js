// Lookout's pages: live state under each camera, and streams that reconnect by themselves.
"use strict";

// The site's base path ("" or "/cam"), for URLs built here.
const BASE = document.body.dataset.base || "";

function describe(cam) {
  if (cam.online) {
    const size = cam.width ? `${cam.width}×${cam.height} · ` : "";
    return `${size}${cam.captured_fps} fps · ${cam.viewer_count} watching`;
  }
  return cam.last_error ? `${cam.state}: ${cam.last_error}` : cam.state;
}

function showDetails(dl, cam) {
  const rows = [
    ["State", cam.state + (cam.last_error ? ` (last error: ${cam.last_error})` : "")],
    ["Since", cam.since],
    ["Source", cam.source],
    ["Resolution", cam.width ? `${cam.width}×${cam.height}` : "–"],
    ["Captured", `${cam.captured_fps} fps, ${cam.frames_captured} frames, ${cam.frames_dropped} dropped`],
    ["Viewers", cam.viewers.map((v) => `${v.remote} ${v.fps} fps`).join(", ") || "none"],
  ];
  dl.replaceChildren(...rows.flatMap(([k, v]) => {
    const dt = document.createElement("dt");
    const dd = document.createElement("dd");
    dt.textContent = k;
    dd.textContent = v;
    return [dt, dd];
  }));
}

async function refresh() {
  try {
    const resp = await fetch(`${BASE}/api/cameras`, { cache: "no-store" });
    if (resp.status === 401) {
      // The session ended (signed out elsewhere, expired, revoked): back to the login form.
      location.href = `${BASE}/login?next=${encodeURIComponent(location.pathname)}`;
      return;
    }
    if (!resp.ok) return;
    const { cameras } = await resp.json();
    for (const cam of cameras) {
      for (const el of document.querySelectorAll(`[data-camera="${CSS.escape(cam.id)}"]`)) {
        const state = el.querySelector("[data-state]");
        if (state) {
          state.textContent = describe(cam);
          state.className = "state " + (cam.online ? "online" : "offline");
        }
        const dl = el.querySelector("[data-details]");
        if (dl) showDetails(dl, cam);
      }
    }
  } catch (_) {
    // The server is restarting or the network is down: try again on the next tick.
  }
}

function reload(img, src) {
  img.src = `${src}${src.includes("?") ? "&" : "?"}t=${Date.now()}`;
}

for (const img of document.querySelectorAll("figure.cam img")) {
  const src = img.getAttribute("src");
  // A stream that breaks (server restart, network change) is reopened after a pause.
  img.addEventListener("error", () => setTimeout(() => reload(img, src), 2000));
  // Snapshot cards (cameras past the first four on the grid) refresh once a second.
  if (img.hasAttribute("data-refresh")) {
    img.addEventListener("load", () => setTimeout(() => reload(img, src), 1000));
  }
}

// Only pages with cameras poll their state (not the login page).
if (document.querySelector("[data-camera]")) {
  refresh();
  setInterval(refresh, 2000);
}
