/* Tenken report page: draws window.TENKEN_REPORT (from data.js) with the vendored Leaflet.
   Works from file:// with no network: tiles are optional, everything else is in the folder. */
(function () {
  "use strict";

  var DATA = window.TENKEN_REPORT;
  var CLASS_COLOURS = {
    D00: "#2563eb", // longitudinal crack: blue
    D10: "#7c3aed", // transverse crack: violet
    D20: "#0d9488", // alligator crack: teal
    D40: "#111827", // pothole: near black, like the hole it is
    Repair: "#475569" // patch: slate, like fresh asphalt
  };
  var OTHER_COLOUR = "#6b7280";
  var CATEGORY = {
    I: { colour: "#16a34a", label: "I 健全 (sound)", hint: "C < 20 %" },
    II: { colour: "#f59e0b", label: "II 表層機能保持段階", hint: "20 % ≤ C < 40 %" },
    III: { colour: "#dc2626", label: "III 修繕段階 (repair)", hint: "C ≥ 40 %" },
    none: { colour: "#9ca3af", label: "not surveyed", hint: "no frame saw it" }
  };
  var SEVERITY_STYLE = {
    low: { radius: 4, weight: 1, color: "#ffffff" },
    medium: { radius: 5.5, weight: 1.5, color: "#ffffff" },
    high: { radius: 7, weight: 2.5, color: "#7f1d1d" }
  };

  function escapeHtml(value) {
    return String(value === null || value === undefined ? "" : value).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function classColour(name) { return CLASS_COLOURS[name] || OTHER_COLOUR; }
  function categoryOf(props) { return CATEGORY[props.category] || CATEGORY.none; }
  function fmt(value, digits, unit) {
    if (value === null || value === undefined) { return "–"; }
    return Number(value).toFixed(digits) + (unit || "");
  }
  function el(id) { return document.getElementById(id); }
  function km(m) { return m >= 1000 ? fmt(m / 1000, 2, " km") : fmt(m, 0, " m"); }

  if (!DATA) {
    el("summary").textContent = "data.js is missing: this folder is not a complete Tenken report.";
    return;
  }
  var report = DATA.report;
  var minSeen = (report.settings || {}).min_surveyed_fraction;
  if (typeof minSeen === "number") {
    CATEGORY.none.hint = "seen under " + Math.round(100 * minSeen) + " % of its length";
  }

  // --- map and background ------------------------------------------------------------------
  var map = L.map("map", { zoomControl: true, preferCanvas: false, attributionControl: true });
  map.attributionControl.setPrefix("Leaflet");
  L.control.scale({ metric: true, imperial: false, maxWidth: 160 }).addTo(map);

  var tileState = { url: DATA.tiles.url, loaded: 0, failed: 0, shown: false };
  if (DATA.tiles.url) {
    var tiles = L.tileLayer(DATA.tiles.url, { maxZoom: 19, attribution: escapeHtml(DATA.tiles.attribution) });
    tiles.on("tileload", function () { tileState.loaded += 1; });
    tiles.on("tileerror", function () {
      tileState.failed += 1;
      // Unreachable tiles: drop the layer and say so; the plain background, scale bar and data stay.
      if (tileState.loaded === 0 && tileState.failed >= 4 && map.hasLayer(tiles)) {
        map.removeLayer(tiles);
        el("tile-note").hidden = false;
      }
    });
    tiles.addTo(map);
    tileState.shown = true;
  }

  // --- segments, track, defects ---------------------------------------------------------------
  function segmentPopup(p) {
    var cat = categoryOf(p);
    var counts = Object.keys(p.defect_counts || {}).map(function (k) {
      return escapeHtml(k) + " × " + p.defect_counts[k];
    });
    return (
      '<div class="popup"><h3>Segment ' + escapeHtml(p.id) + ' <span class="badge cat" style="background:' +
      cat.colour + '">' + escapeHtml(cat.label) + "</span></h3><table>" +
      "<tr><td>Stretch</td><td>" + fmt(p.start_m, 0) + "–" + fmt(p.end_m, 0, " m") + "</td></tr>" +
      "<tr><td>Crack ratio C</td><td>" + fmt(p.crack_ratio_pct, 1, " %") + "</td></tr>" +
      "<tr><td>MCI1</td><td>" + fmt(p.mci, 1) + (p.mci_advice ? " (" + escapeHtml(p.mci_advice) + ")" : "") + "</td></tr>" +
      "<tr><td>Seen</td><td>" + fmt(100 * p.surveyed_fraction, 0, " %") + " of the segment</td></tr>" +
      "<tr><td>Defects</td><td>" + (counts.length ? counts.join(", ") : "none") + "</td></tr>" +
      "</table></div>"
    );
  }

  function defectPopup(p, latlng) {
    var crop = p.crop_path
      ? '<img src="' + escapeHtml(p.crop_path) + '" alt="evidence crop of defect ' + escapeHtml(p.id) + '">'
      : '<div class="nocrop">no evidence crop</div>';
    return (
      '<div class="popup"><h3><span class="swatch-dot" style="display:inline-block;vertical-align:-2px;background:' +
      classColour(p["class"]) + '"></span> ' + escapeHtml(p["class"]) + " · " + escapeHtml(p.description) +
      "</h3>" + '<span class="badge ' + escapeHtml(p.severity) + '">' + escapeHtml(p.severity) + " severity</span><table>" +
      "<tr><td>Confidence</td><td>" + fmt(100 * p.confidence, 0, " %") + "</td></tr>" +
      "<tr><td>Position</td><td>" + latlng.lat.toFixed(6) + ", " + latlng.lng.toFixed(6) + " ± " + fmt(p.error_m, 1, " m") + "</td></tr>" +
      "<tr><td>Seen in</td><td>" + escapeHtml(p.n_observations) + " frame" + (p.n_observations === 1 ? "" : "s") +
      " (" + escapeHtml(p.first_frame) + "–" + escapeHtml(p.last_frame) + ")</td></tr>" +
      "<tr><td>Defect id</td><td>" + escapeHtml(p.id) + "</td></tr></table>" + crop + "</div>"
    );
  }

  var segmentLayer = L.geoJSON(DATA.segments, {
    style: function (f) {
      // Wider than the markers, so the grade shows beside the defects sitting on the lane.
      return { color: categoryOf(f.properties).colour, weight: 22, opacity: 0.55, lineCap: "butt", className: "tenken-segment" };
    },
    onEachFeature: function (f, layer) { layer.bindPopup(segmentPopup(f.properties), { maxWidth: 320 }); }
  }).addTo(map);

  var trackLayer = DATA.track.geometry
    ? L.geoJSON(DATA.track, { style: { color: "#334155", weight: 2, opacity: 0.9, dashArray: "6 5", className: "tenken-track" }, interactive: false }).addTo(map)
    : null;

  var defectLayers = {};
  var defectMarkers = [];
  // High severity on top: drawn last.
  var order = { low: 0, medium: 1, high: 2 };
  var features = DATA.defects.features.slice().sort(function (a, b) {
    return (order[a.properties.severity] || 0) - (order[b.properties.severity] || 0);
  });
  features.forEach(function (f) {
    var p = f.properties;
    var style = SEVERITY_STYLE[p.severity] || SEVERITY_STYLE.low;
    var latlng = L.latLng(f.geometry.coordinates[1], f.geometry.coordinates[0]);
    var marker = L.circleMarker(latlng, {
      radius: style.radius, weight: style.weight, color: style.color, fillColor: classColour(p["class"]),
      fillOpacity: 0.9, className: "tenken-defect tenken-" + String(p["class"]).replace(/[^A-Za-z0-9_-]/g, "") + " sev-" + p.severity
    });
    marker.bindPopup(defectPopup(p, latlng), { maxWidth: 320, minWidth: 240 });
    marker.bindTooltip(escapeHtml(p["class"]) + " · " + escapeHtml(p.severity), { direction: "top", offset: [0, -6] });
    if (!defectLayers[p["class"]]) { defectLayers[p["class"]] = L.layerGroup().addTo(map); }
    defectLayers[p["class"]].addLayer(marker);
    defectMarkers.push(marker);
  });

  // --- fit the view to the data ---------------------------------------------------------------
  var bounds = L.latLngBounds([]);
  [segmentLayer, trackLayer].forEach(function (layer) {
    if (layer && layer.getLayers().length) { bounds.extend(layer.getBounds()); }
  });
  defectMarkers.forEach(function (m) { bounds.extend(m.getLatLng()); });
  if (bounds.isValid()) {
    map.fitBounds(bounds, { padding: [30, 30], maxZoom: 19 });
  } else {
    map.setView([0, 0], 2);
  }

  // --- panel ----------------------------------------------------------------------------------
  var defects = report.defects;
  var segs = report.segments;
  el("title").textContent = report.title || "Road survey";
  document.title = (report.title || "Road survey") + " · Tenken";
  el("subtitle").textContent = "Generated " + String(report.generated_at || "").replace("T", " ").replace("+00:00", " UTC");

  el("summary").innerHTML =
    '<div class="stats">' +
    '<div class="stat"><b>' + defects.total + "</b><span>defects</span></div>" +
    '<div class="stat"><b>' + defects.by_severity.high + "</b><span>high severity</span></div>" +
    '<div class="stat"><b>' + km(segs.route_length_m) + "</b><span>route</span></div>" +
    '<div class="stat"><b>' + fmt(segs.route_length_m ? (100 * segs.surveyed_length_m) / segs.route_length_m : null, 0, " %") +
    "</b><span>seen</span></div>" +
    '<div class="stat"><b>' + fmt(segs.crack_ratio_pct_overall, 1, " %") + "</b><span>crack ratio C</span></div>" +
    '<div class="stat"><b>' + segs.total + "</b><span>segments</span></div>" +
    "</div>" +
    (report.coverage && report.coverage.warning
      ? '<div id="coverage-warning" class="warning" role="alert"><b>Incomplete video.</b> ' +
        escapeHtml(report.coverage.warning) + "</div>"
      : "");

  var catKeys = ["I", "II", "III", "not surveyed"];
  var bar = catKeys.map(function (k) {
    var n = segs.by_category[k] || 0;
    var c = CATEGORY[k] || CATEGORY.none;
    return n ? '<div style="width:' + (100 * n) / Math.max(segs.total, 1) + "%;background:" + c.colour + '"></div>' : "";
  }).join("");
  el("grades").innerHTML = '<div class="bar">' + bar + "</div>" + catKeys.map(function (k) {
    var c = CATEGORY[k] || CATEGORY.none;
    return '<div class="row"><span class="swatch-line" style="background:' + c.colour + '"></span>' +
      escapeHtml(c.label) + ' <span class="muted small">' + escapeHtml(c.hint) + '</span><span class="n">' +
      (segs.by_category[k] || 0) + "</span></div>";
  }).join("") + '<div class="row"><span class="swatch-line" style="background:repeating-linear-gradient(90deg,#334155 0 6px,transparent 6px 11px);height:2px"></span>drive track</div>';

  var classes = Object.keys(DATA.classes).filter(function (c) { return c in defects.by_class; });
  Object.keys(defects.by_class).forEach(function (c) { if (classes.indexOf(c) < 0) { classes.push(c); } });
  Object.keys(DATA.classes).forEach(function (c) { if (classes.indexOf(c) < 0) { classes.push(c); } });
  var classBox = el("classes");
  classes.forEach(function (c) {
    var row = document.createElement("div");
    var n = defects.by_class[c] || 0;
    row.className = "row" + (n ? " toggle" : " off");
    row.setAttribute("data-class", c);
    row.innerHTML = '<span class="swatch-dot" style="background:' + classColour(c) + '"></span>' +
      escapeHtml(c) + ' <span class="muted">' + escapeHtml(DATA.classes[c] || "") + '</span><span class="n">' + n + "</span>";
    if (n) {
      row.addEventListener("click", function () {
        var layer = defectLayers[c];
        if (map.hasLayer(layer)) { map.removeLayer(layer); row.classList.add("off"); }
        else { map.addLayer(layer); row.classList.remove("off"); }
      });
    }
    classBox.appendChild(row);
  });
  el("severities").innerHTML = '<div class="row" style="margin-top:8px;gap:14px">' + ["low", "medium", "high"].map(function (s) {
    return '<span class="row" style="padding:0"><span class="sev ' + s + '"></span>' + s + " " + (defects.by_severity[s] || 0) + "</span>";
  }).join("") + "</div>";

  var notMeasured = report.not_measured || {};
  el("notes").innerHTML = '<h2>Not measured</h2><div class="notes"><ul>' + Object.keys(notMeasured).map(function (k) {
    return "<li>" + escapeHtml(notMeasured[k]) + "</li>";
  }).join("") + "</ul></div>";

  var model = report.model || {};
  var timings = report.timings_s || {};
  el("model").innerHTML = "Model: " + escapeHtml(model.name || "unknown") + (model.version ? " " + escapeHtml(model.version) : "") +
    (timings.total ? " · analysed in " + fmt(timings.total, 0, " s") : "") +
    "<br>Grades after 舗装点検要領 (crack ratio on a 0.5 m mesh). Positions are estimates: see ± error per defect.";

  // For tests and for anyone scripting the page.
  window.tenkenView = {
    map: map, defectMarkers: defectMarkers, segmentLayer: segmentLayer, trackLayer: trackLayer, tileState: tileState
  };
})();
