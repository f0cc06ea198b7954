/* Tenken command post: road defects (clustered, coloured by severity), segment grades, incidents
   with a steady alert list, live drones with track and camera footprint, all from the local API.
   No CDN and no outside requests: Leaflet and markercluster are served by Tenken itself. */
(function () {
  "use strict";

  var client = window.tenkenApi;
  var CLASSES = { D00: "longitudinal crack", D10: "transverse crack", D20: "alligator crack", D40: "pothole", Repair: "patched area" };
  var SEVERITY_ORDER = { low: 0, medium: 1, high: 2 };
  var SEVERITY_SIZE = { low: 12, medium: 15, high: 18 };
  var CATEGORY = {
    I: { colour: "#16a34a", label: "I 健全 (sound)" },
    II: { colour: "#f59e0b", label: "II 表層機能保持段階" },
    III: { colour: "#dc2626", label: "III 修繕段階 (repair)" },
    none: { colour: "#9ca3af", label: "not surveyed" }
  };
  // Text badges, not emoji: a field laptop may have no colour-emoji font.
  var INCIDENT_LABEL = { fire: "FIRE", smoke: "SMOKE", landslide: "SLIDE", flood: "FLOOD", person: "PERSON" };
  var TRACK_POINTS = 600; // drone track kept on the map
  var CLOSED_SHOWN = 8; // closed incidents kept at the bottom of the alert list

  function el(id) { return document.getElementById(id); }
  function escapeHtml(value) {
    return String(value === null || value === undefined ? "" : value).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function fmt(value, digits, unit) {
    if (value === null || value === undefined || isNaN(value)) { return "–"; }
    return Number(value).toFixed(digits) + (unit || "");
  }
  function timeOf(seconds) {
    if (!seconds) { return "–"; }
    return new Date(seconds * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  }

  var view = {
    map: null,
    defects: {}, // id -> marker
    incidents: {}, // id -> {data, marker}
    drones: {}, // vehicle id -> {data, marker, track, footprint}
    jobs: {}, // id -> job
    stream: null,
    streamGeneration: 0, // bumped by each openStream, so a late ticket opens nothing
    lastEventId: null, // where a new stream resumes
    connected: false,
    received: 0
  };

  // --- the map --------------------------------------------------------------------------------
  // maxZoom on the map itself: with no tile layer (offline) markercluster needs it.
  var map = L.map("map", { zoomControl: true, preferCanvas: false, maxZoom: 20 });
  view.map = map;
  map.attributionControl.setPrefix("Leaflet");
  L.control.scale({ metric: true, imperial: false, maxWidth: 160 }).addTo(map);
  map.setView([36.2, 138.25], 5); // Japan, until data arrive

  var segmentLayer = L.layerGroup().addTo(map);
  var clusters = L.markerClusterGroup({
    maxClusterRadius: 35,
    disableClusteringAtZoom: 18,
    chunkedLoading: true,
    showCoverageOnHover: false,
    iconCreateFunction: function (cluster) {
      var worst = 0;
      cluster.getAllChildMarkers().forEach(function (m) { worst = Math.max(worst, SEVERITY_ORDER[m.options.severity] || 0); });
      var sev = ["low", "medium", "high"][worst];
      var n = cluster.getChildCount();
      var size = n < 10 ? 30 : n < 100 ? 36 : 44;
      return L.divIcon({ html: "<span>" + n + "</span>", className: "cluster sev-" + sev, iconSize: [size, size] });
    }
  }).addTo(map);
  var incidentLayer = L.layerGroup().addTo(map);
  var droneLayer = L.layerGroup().addTo(map);

  function addTiles(config) {
    if (!config.tile_url) { return; }
    var loaded = 0, failed = 0;
    var tiles = L.tileLayer(config.tile_url, { maxZoom: 19, attribution: escapeHtml(config.tile_attribution) });
    tiles.on("tileload", function () { loaded += 1; });
    tiles.on("tileerror", function () {
      failed += 1;
      // No tiles reachable (a field post off the network): drop the layer, keep the data on a plain map.
      if (loaded === 0 && failed >= 4 && map.hasLayer(tiles)) { map.removeLayer(tiles); el("tile-note").hidden = false; }
    });
    tiles.addTo(map);
  }

  // --- talking to the API (api_client.js) ----------------------------------------------------
  var api = client.json;
  client.onRefused(function () { askForToken("The token was refused; enter a valid one."); });

  function askForToken(message) {
    if (view.stream) { view.stream.close(); view.stream = null; }
    setConnected(false);
    el("token-form").hidden = false;
    el("token-error").textContent = message || "";
  }

  el("token-form").addEventListener("submit", function (e) {
    e.preventDefault();
    client.setToken(el("token-input").value);
    start();
  });

  function setConnected(on) {
    view.connected = on;
    el("conn").className = "conn " + (on ? "on" : "off");
    el("conn").textContent = on ? "live" : "offline";
  }

  // --- defects --------------------------------------------------------------------------------
  function filters() {
    var severities = Array.prototype.map.call(document.querySelectorAll("#severity-filter input:checked"), function (i) { return i.value; });
    var classes = Array.prototype.map.call(document.querySelectorAll("#class-filter input:checked"), function (i) { return i.value; });
    var since = el("since-filter").value;
    return { severities: severities, classes: classes, job: el("job-filter").value, repair: el("repair-filter").value, sinceS: since ? Date.now() / 1000 - Number(since) : null };
  }

  function passes(p, f) {
    return f.severities.indexOf(p.severity) >= 0 &&
      (f.classes.indexOf(p["class"]) >= 0 || !(p["class"] in CLASSES)) &&
      (!f.job || p.job_id === f.job) &&
      (!f.repair || (p.repair || "open") === f.repair) &&
      (f.sinceS === null || (p.seen_at_s || 0) >= f.sinceS);
  }

  function defectPopup(p, latlng) {
    return '<div class="popup"><h3>' + escapeHtml(p["class"]) + " · " + escapeHtml(p.description || CLASSES[p["class"]] || "") + "</h3>" +
      "<table><tr><td>Severity</td><td>" + escapeHtml(p.severity) + "</td></tr>" +
      "<tr><td>Confidence</td><td>" + fmt(100 * p.confidence, 0, " %") + "</td></tr>" +
      "<tr><td>Position</td><td>" + latlng.lat.toFixed(6) + ", " + latlng.lng.toFixed(6) + " ± " + fmt(p.error_m, 1, " m") + "</td></tr>" +
      "<tr><td>Seen in</td><td>" + escapeHtml(p.n_observations) + " frames</td></tr>" +
      "<tr><td>Survey</td><td>" + escapeHtml(String(p.job_id || "live").slice(0, 8)) + " #" + escapeHtml(p.defect_id) + "</td></tr>" +
      "<tr><td>Review</td><td>" + escapeHtml(p.review || "not reviewed") + "</td></tr>" +
      "<tr><td>Repair</td><td>" + escapeHtml(p.repair || "open") + (p.reopened ? " (re-opened: found again)" : "") + "</td></tr></table>" +
      '<div class="crop" data-id="' + escapeHtml(p.id) + '">loading evidence…</div>' +
      (canReview() && p.job_id ? '<button type="button" class="review-open" data-id="' + escapeHtml(p.id) + '">Review…</button>' : "") +
      "</div>";
  }

  function canReview() { return view.role === "operator" || view.role === "admin"; }

  function showCrop(marker) {
    var id = marker.options.defectId;
    // The crop is fetched with the token in a header and shown from a blob, so no secret sits in an <img> URL.
    client.blob("/api/defects/" + encodeURIComponent(id) + "/crop")
      .then(function (blob) {
        var box = document.querySelector('.leaflet-popup-content .crop[data-id="' + id + '"]');
        if (!box) { return; }
        var img = document.createElement("img");
        img.alt = "evidence crop of defect " + id;
        img.src = URL.createObjectURL(blob);
        box.textContent = "";
        box.appendChild(img);
      })
      .catch(function () {
        var box = document.querySelector('.leaflet-popup-content .crop[data-id="' + id + '"]');
        if (box) { box.textContent = "no evidence crop"; }
      });
  }

  function defectMarker(feature) {
    var p = feature.properties;
    var latlng = L.latLng(feature.geometry.coordinates[1], feature.geometry.coordinates[0]);
    var size = SEVERITY_SIZE[p.severity] || 12;
    var cls = String(p["class"]).replace(/[^A-Za-z0-9_-]/g, "");
    var marker = L.marker(latlng, {
      icon: L.divIcon({
        className: "tenken-defect sev-" + p.severity + " tenken-" + cls + (p.review ? " review-" + p.review : "") + (p.reopened ? " reopened" : ""),
        iconSize: [size, size]
      }),
      severity: p.severity, defectId: p.id, title: p["class"] + " · " + p.severity
    });
    marker.feature = feature;
    marker.bindPopup(defectPopup(p, latlng), { maxWidth: 300, minWidth: 240 });
    marker.on("popupopen", function () {
      showCrop(marker);
      var button = document.querySelector('.leaflet-popup-content .review-open[data-id="' + p.id + '"]');
      if (button && window.tenkenReview) { button.addEventListener("click", function () { window.tenkenReview.open(marker.feature.properties); }); }
    });
    return marker;
  }

  function addDefect(feature) {
    var id = feature.properties.id;
    if (view.defects[id]) { clusters.removeLayer(view.defects[id]); }
    var marker = defectMarker(feature);
    view.defects[id] = marker;
    clusters.addLayer(marker);
    return marker;
  }

  function updateDefectCount() { el("defect-count").textContent = Object.keys(view.defects).length; }

  function loadDefects() {
    var f = filters();
    var params = new URLSearchParams({ limit: "50000" });
    f.severities.forEach(function (s) { params.append("severity", s); });
    f.classes.forEach(function (c) { params.append("class", c); });
    if (f.job) { params.set("job_id", f.job); }
    if (f.repair) { params.set("repair", f.repair); }
    if (f.sinceS !== null) { params.set("since_s", String(f.sinceS)); }
    if (!f.severities.length || !f.classes.length) { clusters.clearLayers(); view.defects = {}; updateDefectCount(); return Promise.resolve(); }
    return api("/api/findings", params).then(function (fc) {
      clusters.clearLayers();
      view.defects = {};
      var markers = fc.features.map(function (feature) {
        var m = defectMarker(feature);
        view.defects[feature.properties.id] = m;
        return m;
      });
      clusters.addLayers(markers);
      updateDefectCount();
    });
  }

  // A finding from the live stream: a GeoJSON feature, or a flat record with lat/lon.
  function liveFeature(data) {
    if (data && data.type === "Feature" && data.geometry) { return data; }
    if (data && typeof data.lat === "number" && typeof data.lon === "number") {
      var props = {};
      Object.keys(data).forEach(function (k) { props[k] = data[k]; });
      if (props["class"] === undefined) { props["class"] = data.class_name; }
      if (props.id === undefined) { props.id = "live-" + view.received; }
      return { type: "Feature", geometry: { type: "Point", coordinates: [data.lon, data.lat] }, properties: props };
    }
    return null;
  }

  // --- segments -------------------------------------------------------------------------------
  function loadSegments() {
    var params = new URLSearchParams();
    if (el("job-filter").value) { params.set("job_id", el("job-filter").value); }
    return api("/api/segments", params).then(function (fc) {
      segmentLayer.clearLayers();
      L.geoJSON(fc, {
        style: function (f) {
          var cat = CATEGORY[f.properties.category] || CATEGORY.none;
          return { color: cat.colour, weight: 9, opacity: 0.6, lineCap: "butt", className: "tenken-segment" };
        },
        onEachFeature: function (f, layer) {
          var p = f.properties, cat = CATEGORY[p.category] || CATEGORY.none;
          layer.bindPopup('<div class="popup"><h3>Segment ' + escapeHtml(p.id) + " · " + escapeHtml(cat.label) + "</h3><table>" +
            "<tr><td>Crack ratio C</td><td>" + fmt(p.crack_ratio_pct, 1, " %") + "</td></tr>" +
            "<tr><td>MCI1</td><td>" + fmt(p.mci, 1) + "</td></tr>" +
            "<tr><td>Seen</td><td>" + fmt(100 * p.surveyed_fraction, 0, " %") + "</td></tr></table></div>");
        }
      }).addTo(segmentLayer);
    });
  }

  // --- incidents: the alert list is ordered by when each incident opened, so it never reshuffles ---
  function incidentIcon(data) {
    return L.divIcon({
      className: "tenken-incident tenken-incident-" + escapeHtml(data.kind) + (data.state === "closed" ? " closed" : ""),
      html: escapeHtml(INCIDENT_LABEL[data.kind] || data.kind), iconSize: [62, 24]
    });
  }

  // Incidents are shown as the store has them (`id`, `key`): the live pipeline's own changes
  // (`incident_id`, no `id`) are recorded and re-announced by the server under the same key, so a
  // reloaded page lists the same incidents under the same names. The key names an incident everywhere
  // (here, on the video overlay and in TAK).
  function upsertIncident(raw) {
    if (raw.incident_id !== undefined && raw.id === undefined) { return; }
    var key = String(raw.key || raw.id);
    var data = Object.assign({}, raw, { key: key, label: key });
    var entry = view.incidents[key];
    var placed = typeof data.lat === "number" && typeof data.lon === "number";
    if (!entry) {
      entry = { data: data, marker: L.marker(placed ? L.latLng(data.lat, data.lon) : L.latLng(0, 0), { icon: incidentIcon(data), zIndexOffset: 1000 }) };
      if (placed) { entry.marker.addTo(incidentLayer); }
      view.incidents[key] = entry;
    } else {
      var stateChanged = entry.data.state !== data.state;
      entry.data = data;
      if (placed) { entry.marker.setLatLng(L.latLng(data.lat, data.lon)); if (!incidentLayer.hasLayer(entry.marker)) { entry.marker.addTo(incidentLayer); } }
      if (stateChanged) { entry.marker.setIcon(incidentIcon(data)); }
    }
    entry.marker.bindPopup('<div class="popup"><h3>' + escapeHtml(data.kind) + " · " + escapeHtml(data.state) + "</h3><table>" +
      "<tr><td>Confidence</td><td>" + fmt(100 * data.confidence, 0, " %") + "</td></tr>" +
      "<tr><td>Position</td><td>± " + fmt(data.error_m, 0, " m") + "</td></tr>" +
      "<tr><td>First seen</td><td>" + timeOf(data.first_seen_s) + "</td></tr>" +
      "<tr><td>Last seen</td><td>" + timeOf(data.last_seen_s) + "</td></tr>" +
      "<tr><td>Source</td><td>" + escapeHtml(data.source) + "</td></tr></table></div>");
    renderAlerts();
  }

  var alertsPending = false;
  function renderAlerts() {
    if (alertsPending) { return; }
    alertsPending = true;
    window.requestAnimationFrame(function () {
      alertsPending = false;
      var all = Object.keys(view.incidents).map(function (k) { return view.incidents[k].data; });
      var open = all.filter(function (d) { return d.state === "open"; })
        .sort(function (a, b) { return b.first_seen_s - a.first_seen_s || String(b.key).localeCompare(String(a.key)); });
      var closed = all.filter(function (d) { return d.state === "closed"; })
        .sort(function (a, b) { return (b.closed_s || b.last_seen_s || 0) - (a.closed_s || a.last_seen_s || 0); }).slice(0, CLOSED_SHOWN);
      el("alert-count").textContent = open.length;
      el("alerts-empty").hidden = open.length > 0;
      el("alerts").innerHTML = open.concat(closed).map(function (d) {
        return '<li data-id="' + escapeHtml(d.key) + '" class="' + (d.state === "open" ? "open" : "closed") + '">' +
          '<span class="icon kind-' + escapeHtml(d.kind) + '">' + escapeHtml((INCIDENT_LABEL[d.kind] || d.kind).charAt(0)) + "</span><b>" + escapeHtml(d.kind) + " #" + escapeHtml(d.label) + "</b>" +
          '<span class="meta">' + (d.state === "open" ? "since " + timeOf(d.first_seen_s) : "closed " + timeOf(d.closed_s || d.last_seen_s)) +
          " · " + fmt(100 * d.confidence, 0, " %") + " · " + escapeHtml(d.source) + "</span></li>";
      }).join("");
    });
  }

  el("alerts").addEventListener("click", function (e) {
    var li = e.target.closest("li[data-id]");
    var entry = li && view.incidents[li.getAttribute("data-id")];
    if (entry && incidentLayer.hasLayer(entry.marker)) { map.setView(entry.marker.getLatLng(), Math.max(map.getZoom(), 16)); entry.marker.openPopup(); }
  });

  // --- drones ---------------------------------------------------------------------------------
  // The recorded track first (a page opened mid-flight or reloaded), then the live states on top.
  function loadTrack(vehicleId) {
    return api("/api/telemetry/" + encodeURIComponent(vehicleId) + "/track", new URLSearchParams({ limit: String(TRACK_POINTS) }))
      .then(function (track) {
        var d = view.drones[vehicleId];
        if (!d) { return; }
        var live = d.track.getLatLngs();
        var since = live.length ? d.trackStart : Infinity;
        var recorded = track.points.filter(function (p) { return p[0] < since; }).map(function (p) { return L.latLng(p[1], p[2]); });
        d.track.setLatLngs(recorded.concat(live).slice(-TRACK_POINTS));
      });
  }

  function updateDrone(data) {
    var id = data.vehicle_id || "drone";
    var d = view.drones[id];
    if (!d) {
      d = view.drones[id] = {
        track: L.polyline([], { color: "#0f4c81", weight: 2, opacity: 0.8, className: "tenken-drone-track" }).addTo(droneLayer),
        footprint: L.polygon([], { color: "#0f4c81", weight: 1, fillOpacity: 0.12, className: "tenken-footprint" }).addTo(droneLayer),
        marker: null, data: data
      };
    }
    d.data = data;
    if (typeof data.lat === "number" && typeof data.lon === "number") {
      var latlng = L.latLng(data.lat, data.lon);
      var icon = L.divIcon({
        className: "tenken-drone",
        html: '<span style="display:inline-block;transform:rotate(' + Number(data.heading_deg || 0) + 'deg)">▲</span>',
        iconSize: [28, 28]
      });
      if (!d.marker) { d.marker = L.marker(latlng, { icon: icon, zIndexOffset: 2000, title: id }).addTo(droneLayer); }
      else { d.marker.setLatLng(latlng); d.marker.setIcon(icon); }
      var points = d.track.getLatLngs();
      if (!points.length) { d.trackStart = data.timestamp_s; }
      points.push(latlng);
      if (points.length > TRACK_POINTS) { points.splice(0, points.length - TRACK_POINTS); }
      d.track.setLatLngs(points);
    }
    var ring = data.footprint && data.footprint.coordinates && data.footprint.coordinates[0];
    d.footprint.setLatLngs(ring ? ring.map(function (c) { return [c[1], c[0]]; }) : []);
    renderDrones();
  }

  function renderDrones() {
    var ids = Object.keys(view.drones).sort();
    if (!ids.length) { return; }
    el("drones").innerHTML = ids.map(function (id) {
      var s = view.drones[id].data;
      return '<li data-id="' + escapeHtml(id) + '"><b>' + escapeHtml(id) + "</b> " + escapeHtml(s.mode || "") +
        (s.armed ? " · armed" : "") + "<br>alt " + fmt(s.alt_m, 0, " m") + " · hdg " + fmt(s.heading_deg, 0, "°") +
        " · battery " + fmt(s.battery_pct, 0, " %") + " · " + timeOf(s.timestamp_s) + "</li>";
    }).join("");
  }

  el("drones").addEventListener("click", function (e) {
    var li = e.target.closest("li[data-id]");
    var d = li && view.drones[li.getAttribute("data-id")];
    if (d && d.marker) { map.setView(d.marker.getLatLng(), Math.max(map.getZoom(), 16)); }
  });

  // --- jobs -----------------------------------------------------------------------------------
  function upsertJob(job) {
    var id = job.id || job.job_id;
    if (!id) { return; }
    var before = view.jobs[id];
    view.jobs[id] = Object.assign({}, before || {}, job, { id: id });
    renderJobs();
    if (job.state === "completed" && (!before || before.state !== "completed")) {
      fillJobFilter();
      if (before) { loadDefects(); loadSegments(); } // a survey just finished: its findings are in the store
    }
  }

  function renderJobs() {
    var jobs = Object.keys(view.jobs).map(function (k) { return view.jobs[k]; })
      .sort(function (a, b) { return String(b.created_at || "").localeCompare(String(a.created_at || "")); }).slice(0, 12);
    if (!jobs.length) { return; }
    el("jobs").innerHTML = jobs.map(function (j) {
      var pct = j.state === "completed" ? 100 : j.frames_total ? Math.round((100 * (j.frames_done || 0)) / j.frames_total) : 0;
      var state = j.stalled && j.state !== "failed" ? j.state + " (stalled)" : j.state;
      // A failed or stalled job can be sent again; finished chunks keep their results.
      var resume = j.state === "failed" || j.stalled ? '<button type="button" class="resume" data-id="' + escapeHtml(j.id) + '">Resume</button>' : "";
      return '<li data-id="' + escapeHtml(j.id) + '"><span title="' + escapeHtml(j.id) + '">' + escapeHtml(String(j.id).slice(0, 8)) +
        '</span><span title="' + escapeHtml(j.error || "") + '">' + escapeHtml(state) +
        '</span><span class="bar"><div style="width:' + pct + '%"></div></span><span>' + pct + " %</span>" + resume + "</li>";
    }).join("");
  }

  el("jobs").addEventListener("click", function (e) {
    var button = e.target.closest("button.resume");
    if (!button) { return; }
    button.disabled = true;
    var id = button.getAttribute("data-id");
    client.send("POST", "/api/jobs/" + encodeURIComponent(id) + "/resume")
      .then(upsertJob)
      .catch(function (err) { button.disabled = false; el("footer").textContent = "Could not resume: " + err.message; });
  });

  // "Stalled" comes with the passing of time, not with an event: look again now and then.
  window.setInterval(function () {
    if (view.ready) { api("/api/jobs", new URLSearchParams({ limit: "50" })).then(function (jobs) { jobs.forEach(upsertJob); }).catch(function () {}); }
  }, 60000);

  function fillJobFilter() {
    var select = el("job-filter"), current = select.value;
    var done = Object.keys(view.jobs).map(function (k) { return view.jobs[k]; }).filter(function (j) { return j.state === "completed"; });
    select.innerHTML = '<option value="">all surveys</option>' + done.map(function (j) {
      return '<option value="' + escapeHtml(j.id) + '">' + escapeHtml(String(j.id).slice(0, 8)) + " · " + escapeHtml(String(j.created_at || "").slice(0, 16).replace("T", " ")) + "</option>";
    }).join("");
    select.value = current;
  }

  // --- the live stream ------------------------------------------------------------------------
  // EventSource cannot send a header, so the stream is opened with a short-lived ticket rather than
  // the token: the token never sits in a URL (access logs, proxies). A ticket only opens a stream;
  // when one is refused (expired, or the token was revoked) the page asks for a new ticket and
  // resumes after the last event it saw.
  function openStream() {
    if (view.stream) { view.stream.close(); view.stream = null; }
    var generation = view.streamGeneration += 1;
    client.send("POST", "/api/stream-tickets").then(function (ticket) {
      if (generation !== view.streamGeneration) { return; }
      var query = new URLSearchParams({ ticket: ticket.ticket });
      if (view.lastEventId) { query.set("after", view.lastEventId); }
      listen(new EventSource("/api/stream?" + query.toString()));
    }).catch(function (err) {
      if (err.message !== "unauthorised" && generation === view.streamGeneration) { window.setTimeout(openStream, 2000); }
    });
  }

  function listen(source) {
    view.stream = source;
    source.onopen = function () { setConnected(true); };
    source.onerror = function () {
      setConnected(false);
      // EventSource retries by itself (resuming with Last-Event-ID); a refused ticket stops it: get a new one.
      if (source.readyState === EventSource.CLOSED && view.stream === source) { view.stream = null; window.setTimeout(openStream, 2000); }
    };
    function handle(fn) {
      return function (message) {
        view.received += 1;
        if (message.lastEventId) { view.lastEventId = message.lastEventId; }
        try { fn(JSON.parse(message.data)); } catch (err) { console.warn("bad live event", err); }
      };
    }
    source.addEventListener("findings", handle(function (data) {
      var feature = liveFeature(data);
      if (feature && passes(feature.properties, filters())) { addDefect(feature); updateDefectCount(); }
    }));
    source.addEventListener("incidents", handle(upsertIncident));
    source.addEventListener("telemetry", handle(updateDrone));
    source.addEventListener("jobs", handle(upsertJob));
  }

  // --- filters and legend ---------------------------------------------------------------------
  el("class-filter").innerHTML = Object.keys(CLASSES).map(function (c) {
    return '<label title="' + escapeHtml(CLASSES[c]) + '"><input type="checkbox" value="' + c + '" checked>' + c + "</label>";
  }).join("");
  el("grade-legend").innerHTML = ["I", "II", "III", "none"].map(function (k) {
    return '<div><span class="line" style="background:' + CATEGORY[k].colour + '"></span>' + escapeHtml(CATEGORY[k].label) + "</div>";
  }).join("");
  Array.prototype.forEach.call(document.querySelectorAll("#filters input, #filters select"), function (input) {
    input.addEventListener("change", function () {
      loadDefects();
      if (input.id === "job-filter") { loadSegments(); }
    });
  });

  function fitToData() {
    var bounds = L.latLngBounds([]);
    Object.keys(view.defects).forEach(function (k) { bounds.extend(view.defects[k].getLatLng()); });
    segmentLayer.eachLayer(function (g) { if (g.getBounds && g.getLayers().length) { bounds.extend(g.getBounds()); } });
    Object.keys(view.incidents).forEach(function (k) {
      if (incidentLayer.hasLayer(view.incidents[k].marker)) { bounds.extend(view.incidents[k].marker.getLatLng()); }
    });
    Object.keys(view.drones).forEach(function (k) { if (view.drones[k].marker) { bounds.extend(view.drones[k].marker.getLatLng()); } });
    if (bounds.isValid()) { map.fitBounds(bounds, { padding: [30, 30], maxZoom: 18 }); }
  }

  // --- start ----------------------------------------------------------------------------------
  var started = false;
  function start() {
    if (!client.token()) { askForToken(""); return; }
    api("/api/me").then(function (me) {
      el("token-form").hidden = true;
      view.role = me.role;
      el("footer").textContent = "Signed in with " + me.role + " token “" + me.name + "”.";
      openStream();
      return Promise.all([
        api("/api/jobs", new URLSearchParams({ limit: "200" })).then(function (jobs) { jobs.forEach(upsertJob); fillJobFilter(); }),
        loadDefects(),
        loadSegments(),
        api("/api/incidents", new URLSearchParams({ limit: "500" })).then(function (list) { list.forEach(upsertIncident); }),
        api("/api/telemetry").then(function (list) {
          list.forEach(updateDrone);
          return Promise.all(list.map(function (s) { return loadTrack(s.vehicle_id || "drone"); }));
        })
      ]);
    }).then(function () {
      if (!started) { fitToData(); }
      started = true;
      view.ready = true;
    }).catch(function (err) {
      if (err.message !== "unauthorised") { el("footer").textContent = "Could not load: " + err.message; }
    });
  }

  fetch("/api/config").then(function (r) { return r.json(); }).then(function (config) {
    addTiles(config);
    el("footer").textContent = "Tenken " + config.version;
    start();
  });

  // For tests and for anyone scripting the page.
  window.tenkenLive = {
    view: view, map: map, clusters: clusters,
    defectCount: function () { return Object.keys(view.defects).length; },
    hasDefect: function (id) { return Object.prototype.hasOwnProperty.call(view.defects, id); },
    trackLength: function (id) { return view.drones[id] ? view.drones[id].track.getLatLngs().length : 0; },
    defect: function (id) { return view.defects[id] ? view.defects[id].feature.properties : null; },
    openDefect: function (id) { var m = view.defects[id]; clusters.zoomToShowLayer(m, function () { m.openPopup(); }); },
    reload: function () { return Promise.all([loadDefects(), loadSegments()]); }
  };
})();
