// Tenken command post: the live drone video panel beside the map (api/video.py serves what it shows).
// Live MJPEG in an <img>, a findings timeline under it, replay by clicking a finding or an incident,
// a scrub bar over the recording, and the quick-look map of the flight as an image layer.
// Loaded after command-post.js; it uses that page's map (window.tenkenLive) and the API client (api_client.js).
(function () {
  "use strict";
  var page = window.tenkenLive;
  if (!page || !page.map) { console.warn("live panel: the command-post page is not loaded"); return; }
  var map = page.map;
  var css = document.createElement("link"); // one <script> tag in the page brings its stylesheet too
  css.rel = "stylesheet";
  css.href = "/static/live_panel.css";
  document.head.appendChild(css);
  var SOURCES_EVERY_MS = 5000;
  var TIMELINE_EVERY_MS = 4000;
  var QUICKLOOK_EVERY_MS = 15000;

  var client = window.tenkenApi;
  var token = client.token;
  var api = client.json;
  function q(params) {
    var p = new URLSearchParams(params || {});
    p.set("token", token()); // <img> cannot send a header; the API accepts ?token= on GET for this
    return "?" + p.toString();
  }
  function esc(value) {
    return String(value === null || value === undefined ? "" : value).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function clock(seconds) {
    var d = new Date(seconds * 1000);
    return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  }

  // --- the panel ---------------------------------------------------------------------------------
  var panel = document.createElement("aside");
  panel.id = "live-panel";
  panel.setAttribute("aria-label", "Live drone video");
  panel.innerHTML =
    '<header><h2>Drone video</h2><select id="live-source" aria-label="Video source"></select></header>' +
    '<div id="live-screen"><img id="live-img" alt="Live drone video">' +
    '<div id="live-badge" class="live">LIVE</div>' +
    '<div id="live-empty" class="muted small">No drone is streaming video.</div></div>' +
    '<div id="live-controls">' +
    '<button type="button" id="live-back" hidden>Back to live</button>' +
    '<input type="range" id="live-scrub" min="0" max="0" step="0.5" value="0" aria-label="Scrub the recording" disabled>' +
    '<span id="live-time" class="muted small"></span></div>' +
    '<h3>Findings <span class="muted small">(click to replay)</span></h3>' +
    '<ol id="live-timeline" class="live-timeline"></ol>' +
    '<label class="quicklook"><input type="checkbox" id="live-quicklook"> Quick-look map of the flight ' +
    '<span class="muted small">(quick-look, not an orthophoto)</span></label>';
  var app = document.getElementById("app") || document.body;
  app.appendChild(panel);
  map.invalidateSize();

  var el = function (id) { return document.getElementById(id); };
  var state = {
    source: null,
    mode: "live", // "live" or "replay"
    replayTime: null,
    replayFrameId: null,
    segments: [],
    findings: [],
    framesShown: 0,
    quicklook: null // L.imageOverlay
  };

  el("live-img").addEventListener("load", function () { state.framesShown += 1; });

  function showLive() {
    state.mode = "live";
    state.replayTime = state.replayFrameId = null;
    el("live-badge").textContent = "LIVE";
    el("live-badge").className = "live";
    el("live-back").hidden = true;
    // browser=1: the server sends each part's headers early, so Chromium/Firefox show a frame on arrival
    if (state.source) { el("live-img").src = "/api/live/" + encodeURIComponent(state.source) + "/video.mjpg" + q({ browser: "1" }); }
  }

  function showReplay(params, label) {
    if (!state.source) { return; }
    state.mode = "replay";
    el("live-img").src = "/api/replay/" + encodeURIComponent(state.source) + "/frame.jpg" + q(params);
    el("live-badge").textContent = "REPLAY " + label;
    el("live-badge").className = "replay";
    el("live-back").hidden = false;
  }

  function seekTime(t) {
    state.replayTime = t;
    state.replayFrameId = null;
    el("live-scrub").value = String(t - scrubOrigin());
    el("live-time").textContent = clock(t);
    showReplay({ t: t.toFixed(3) }, clock(t));
  }

  function seekFrame(frameId, t) {
    state.replayFrameId = frameId;
    state.replayTime = t;
    if (t) { el("live-scrub").value = String(t - scrubOrigin()); el("live-time").textContent = clock(t); }
    showReplay({ frame_id: String(frameId) }, t ? clock(t) : "frame " + frameId);
  }

  // An incident (from the timeline, or the page's alert list) seeks to the frame it was best seen in.
  function seekToIncident(data) {
    if (!data) { return; }
    if (data.source && data.source !== state.source && state.sources && state.sources.indexOf(data.source) >= 0) {
      selectSource(data.source, true);
    }
    var frame = data.best_frame_id;
    var ref = /(?:^|frame-)(\d+)$/.exec(String(data.frame_ref || ""));
    if (frame === undefined && ref) { frame = Number(ref[1]); }
    if (frame !== undefined && frame !== null) { seekFrame(frame, data.timestamp_s || data.first_seen_s); }
    else { seekTime(data.timestamp_s || data.last_seen_s || data.first_seen_s); }
  }

  el("live-back").addEventListener("click", showLive);

  // --- sources and recording range ---------------------------------------------------------------
  function scrubOrigin() { return state.segments.length ? state.segments[0].start_s : 0; }

  function selectSource(name, keepMode) {
    if (state.source === name) { return; }
    state.source = name;
    el("live-source").value = name;
    state.findings = [];
    renderTimeline();
    refreshRecording();
    if (!keepMode) { showLive(); }
    if (state.quicklook) { refreshQuicklook(); }
  }

  function refreshSources() {
    return api("/api/live/sources").then(function (list) {
      state.sources = list.map(function (s) { return s.source; });
      var live = list.filter(function (s) { return s.live; });
      el("live-empty").hidden = list.length > 0;
      el("live-source").innerHTML = list.map(function (s) {
        return '<option value="' + esc(s.source) + '">' + esc(s.source) + (s.live ? " · live" : " · recorded") + "</option>";
      }).join("");
      if (!state.source && list.length) { selectSource((live[0] || list[0]).source); }
      else if (state.source) { el("live-source").value = state.source; }
    }).catch(function () {});
  }
  el("live-source").addEventListener("change", function (e) { selectSource(e.target.value); });

  function refreshRecording() {
    if (!state.source) { return Promise.resolve(); }
    var name = state.source;
    return Promise.all([
      api("/api/replay/" + encodeURIComponent(name) + "/segments"),
      api("/api/replay/" + encodeURIComponent(name) + "/findings")
    ]).then(function (r) {
      if (name !== state.source) { return; }
      state.segments = r[0];
      state.findings = r[1];
      var scrub = el("live-scrub");
      if (state.segments.length) {
        var last = state.segments[state.segments.length - 1];
        scrub.max = String(Math.max(0, last.end_s - scrubOrigin()));
        scrub.disabled = false;
        if (state.mode === "live") { scrub.value = scrub.max; el("live-time").textContent = clock(last.end_s); }
      }
      renderTimeline();
    }).catch(function () {});
  }

  el("live-scrub").addEventListener("input", function (e) { seekTime(scrubOrigin() + Number(e.target.value)); });

  // One line per incident however often it was updated (the newest change, with a count), one per
  // other finding; newest first.
  function timelineItems() {
    var items = [], byIncident = {};
    state.findings.slice(-2000).forEach(function (f) {
      var key = f.key || f.incident_id;
      if (key === undefined || key === null) { items.push({ f: f, n: 1 }); return; }
      var group = byIncident[key];
      if (!group) { group = byIncident[key] = { f: f, n: 0 }; items.push(group); }
      group.f = f;
      group.n += 1;
    });
    items.sort(function (a, b) { return (b.f.last_seen_s || b.f.timestamp_s || 0) - (a.f.last_seen_s || a.f.timestamp_s || 0); });
    return items.slice(0, 200);
  }

  function renderTimeline() {
    state.items = timelineItems();
    el("live-timeline").innerHTML = state.items.map(function (item, i) {
      var f = item.f, key = f.key || f.incident_id;
      return '<li data-i="' + i + '" class="kind-' + esc(f.kind) + '">' +
        '<span class="t">' + clock(f.last_seen_s || f.timestamp_s) + "</span> <b>" + esc(f.kind || "finding") + "</b> " +
        esc(f.state || f.event || "") + (key ? ' <span class="muted">#' + esc(key) + "</span>" : "") +
        (item.n > 1 ? ' <span class="muted updates">' + item.n + " updates</span>" : "") + "</li>";
    }).join("") || '<li class="muted small">Nothing found yet.</li>';
  }

  el("live-timeline").addEventListener("click", function (e) {
    var li = e.target.closest("li[data-i]");
    if (!li) { return; }
    var item = (state.items || [])[Number(li.getAttribute("data-i"))];
    if (item) { seekToIncident(item.f); }
  });

  // The page's own alert list: clicking an incident there also shows its frame here.
  var alerts = document.getElementById("alerts");
  if (alerts) {
    alerts.addEventListener("click", function (e) {
      var li = e.target.closest("li[data-id]");
      var entry = li && page.view.incidents[li.getAttribute("data-id")];
      if (entry) { seekToIncident(entry.data); }
    });
  }

  // --- quick-look map layer ----------------------------------------------------------------------
  function refreshQuicklook() {
    if (!state.source || !el("live-quicklook").checked) { return; }
    var name = state.source;
    api("/api/quicklook/" + encodeURIComponent(name)).then(function (info) {
      var url = info.image_url + q({ v: String(info.frames) });
      if (state.quicklook) { state.quicklook.setUrl(url); state.quicklook.setBounds(L.latLngBounds(info.bounds)); }
      else {
        state.quicklook = L.imageOverlay(url, info.bounds, {
          opacity: 0.85, className: "tenken-quicklook", attribution: "Tenken " + esc(info.label)
        }).addTo(map);
        map.fitBounds(info.bounds, { maxZoom: 19 });
      }
    }).catch(function () {});
  }
  el("live-quicklook").addEventListener("change", function (e) {
    if (e.target.checked) { refreshQuicklook(); }
    else if (state.quicklook) { map.removeLayer(state.quicklook); state.quicklook = null; }
  });

  // --- start -------------------------------------------------------------------------------------
  function tick() {
    if (!token()) { return; }
    refreshSources().then(function () {
      if (state.source && state.mode === "live" && !el("live-img").src) { showLive(); }
    });
  }
  tick();
  window.setInterval(tick, SOURCES_EVERY_MS);
  window.setInterval(refreshRecording, TIMELINE_EVERY_MS);
  window.setInterval(refreshQuicklook, QUICKLOOK_EVERY_MS);

  // For tests and for anyone scripting the page.
  window.tenkenVideo = {
    state: state,
    seekToIncident: seekToIncident,
    seekTime: seekTime,
    showLive: showLive,
    refresh: function () { return refreshSources().then(refreshRecording); }
  };
})();
