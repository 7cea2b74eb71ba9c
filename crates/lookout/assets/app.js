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

// Grid tiles ask for pictures as wide as they are drawn (CSS pixels × devicePixelRatio), rounded
// up to one of these widths so that tiles and viewers of about the same size share one variant:
// the server scales and encodes each variant once for all its viewers, and holds at most 8 per
// camera (these take 5 at most). Wider than the last one is the original; wider than the camera
// is served as the original (the server never scales up). Numbers: docs/performance.md.
const TILE_WIDTHS = [320, 480, 640, 960, 1280];

// The tile width for `img`, or undefined for the original.
function tileWidth(img) {
  const px = img.getBoundingClientRect().width * (window.devicePixelRatio || 1);
  return TILE_WIDTHS.find((w) => w >= px);
}

function withWidth(src, width) {
  return width ? `${src}${src.includes("?") ? "&" : "?"}width=${width}` : src;
}

for (const img of document.querySelectorAll("figure.cam img")) {
  // A camera page playing H.264 keeps the MJPEG URL in data-src until it falls back to it;
  // grid tiles keep theirs there until they know their size.
  let src = img.getAttribute("src") || img.dataset.src;
  if (img.hasAttribute("data-fit")) {
    const original = src;
    let width = tileWidth(img);
    src = withWidth(original, width);
    img.src = src;
    // A wider or narrower window (or zoom) that moves the tile to another width reconnects.
    new ResizeObserver(() => {
      const now = tileWidth(img);
      if (now !== width) {
        width = now;
        src = withWidth(original, width);
        img.src = src;
      }
    }).observe(img);
  }
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

// The motion-zone editor on a camera page (admins, cameras with motion detection): corners
// in 0..1 picture coordinates, drawn over the live picture, saved with the page's CSRF token.
const zoneSection = document.querySelector("section.zones");
const overlay = document.querySelector("[data-zone-overlay]");
if (zoneSection && overlay) {
  const url = zoneSection.dataset.zonesUrl;
  const status = zoneSection.querySelector("[data-zone-status]");
  const SVG = "http://www.w3.org/2000/svg";
  let zones = [];
  let draft = [];

  const draw = () => {
    overlay.replaceChildren();
    for (const z of zones) {
      const p = document.createElementNS(SVG, "polygon");
      p.setAttribute("points", z.points.map(([x, y]) => `${x},${y}`).join(" "));
      p.setAttribute("class", z.kind);
      overlay.append(p);
    }
    if (draft.length) {
      const line = document.createElementNS(SVG, "polyline");
      line.setAttribute("points", draft.map(([x, y]) => `${x},${y}`).join(" "));
      line.setAttribute("class", "draft");
      overlay.append(line);
      for (const [x, y] of draft) {
        const c = document.createElementNS(SVG, "circle");
        c.setAttribute("cx", x);
        c.setAttribute("cy", y);
        c.setAttribute("r", 0.006);
        overlay.append(c);
      }
    }
  };
  const say = (text) => { status.textContent = text; };

  overlay.addEventListener("click", (e) => {
    const box = overlay.getBoundingClientRect();
    const x = Math.min(1, Math.max(0, (e.clientX - box.left) / box.width));
    const y = Math.min(1, Math.max(0, (e.clientY - box.top) / box.height));
    draft.push([Number(x.toFixed(4)), Number(y.toFixed(4))]);
    draw();
  });
  for (const b of zoneSection.querySelectorAll("[data-close]")) {
    b.addEventListener("click", () => {
      if (draft.length < 3) { say("place at least 3 corners first"); return; }
      zones.push({ kind: b.dataset.close, points: draft });
      draft = [];
      draw();
      say("not saved yet");
    });
  }
  zoneSection.querySelector("[data-undo]").addEventListener("click", () => { draft.pop(); draw(); });
  zoneSection.querySelector("[data-clear]").addEventListener("click", () => {
    zones = [];
    draft = [];
    draw();
    say("not saved yet");
  });
  zoneSection.querySelector("[data-save]").addEventListener("click", async () => {
    const resp = await fetch(url, {
      method: "PUT",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": zoneSection.dataset.csrf },
      body: JSON.stringify({ zones }),
    });
    if (resp.ok) {
      say("saved");
    } else {
      const why = await resp.json().catch(() => ({}));
      say(`not saved: ${why.error || resp.status}`);
    }
  });
  fetch(url, { cache: "no-store" })
    .then((r) => r.json())
    .then((j) => { zones = j.zones || []; draw(); })
    .catch(() => say("cannot load the zones"));
}

// Camera controls on a V4L2 camera's page (admins): a slider per integer control, a switch
// per boolean, a menu per menu control; each change is sent at once and the answer (the
// values read back from the device) redraws the list.
const controlSection = document.querySelector("section.controls");
if (controlSection) {
  const url = controlSection.dataset.controlsUrl;
  const list = controlSection.querySelector("[data-control-list]");
  const status = controlSection.querySelector("[data-control-status]");
  const say = (text) => { status.textContent = text; };

  const send = async (name, value) => {
    say(`setting ${name}…`);
    const resp = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": controlSection.dataset.csrf },
      body: JSON.stringify({ [name]: value }),
    });
    const answer = await resp.json().catch(() => ({}));
    if (resp.ok) {
      render(answer.controls || []);
      say(`${name} set`);
    } else {
      say(`${name} not set: ${answer.error || resp.status}`);
      load();
    }
  };

  const row = (c) => {
    const label = document.createElement("label");
    label.dataset.control = c.name;
    const title = document.createElement("span");
    title.textContent = c.label;
    title.title = `${c.name}: ${c.range}`;
    label.append(title);
    if (c.read_only || c.inactive) {
      const note = document.createElement("output");
      note.textContent = c.read_only ? `${c.value} (read-only)` : `${c.value} (automatic mode is on)`;
      label.append(note);
      return label;
    }
    let input;
    if (c.type === "boolean") {
      input = document.createElement("input");
      input.type = "checkbox";
      input.checked = c.value !== 0;
      input.addEventListener("change", () => send(c.name, input.checked));
    } else if (c.type === "menu") {
      input = document.createElement("select");
      for (const item of c.menu) {
        const o = document.createElement("option");
        o.value = item.value;
        o.textContent = item.name;
        o.selected = item.value === c.value;
        input.append(o);
      }
      input.addEventListener("change", () => send(c.name, Number(input.value)));
    } else {
      input = document.createElement("input");
      input.type = "range";
      input.min = c.min;
      input.max = c.max;
      input.step = c.step || 1;
      input.value = c.value;
      const shown = document.createElement("output");
      shown.textContent = c.value;
      input.addEventListener("input", () => { shown.textContent = input.value; });
      input.addEventListener("change", () => send(c.name, Number(input.value)));
      label.append(input, shown);
      return label;
    }
    label.append(input);
    return label;
  };

  const render = (controls) => { list.replaceChildren(...controls.map(row)); };
  const load = () => fetch(url, { cache: "no-store" })
    .then((r) => r.json())
    .then((j) => {
      if (j.controls) { render(j.controls); } else { say(j.error || "cannot read the controls"); }
    })
    .catch(() => say("cannot read the controls"));
  load();
}
