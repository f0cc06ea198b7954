// The change map: defects coloured by what happened to them, units by how their MCI moved.
// Data comes from data.js (an exported folder) or from /api/compare (the served page).
(function () {
  "use strict";
  var STATUS = {
    new: ["#d7263d", "new"],
    grown: ["#f46036", "grown"],
    shrunk: ["#2e86ab", "shrunk"],
    unchanged: ["#7a7a7a", "persisting, unchanged"],
    repaired: ["#1b998b", "repaired (repair record)"],
    not_seen_again: ["#8e44ad", "not seen again (repaired unrecorded or missed)"],
    not_surveyed_again: ["#bbbbbb", "not surveyed again"],
    first_surveyed: ["#e0a800", "first surveyed now"],
  };
  function unitColour(change) {
    if (change === null || change === undefined) return "#9c9caf";
    if (change <= -0.5) return "#d7263d";
    if (change >= 0.5) return "#1b998b";
    return "#7a7a7a";
  }
  function show(data) {
    var map = L.map("map");
    var bounds = [];
    var s = data.summary;
    document.getElementById("surveys").textContent =
      "then: " + s.then.date + " (" + s.then.job_id.slice(0, 8) + ")  now: " + s.now.date + " (" + s.now.job_id.slice(0, 8) + ")";
    var statuses = document.getElementById("statuses");
    Object.keys(STATUS).forEach(function (key) {
      var row = document.createElement("div");
      row.className = "legend-row";
      row.dataset.status = key;
      row.innerHTML = '<span class="swatch" style="background:' + STATUS[key][0] + '"></span>' +
        STATUS[key][1] + ': <b class="count">' + (s.counts[key] || 0) + "</b>";
      statuses.appendChild(row);
    });
    var worse = 0, better = 0;
    data.features.forEach(function (f) {
      var p = f.properties;
      if (f.geometry.type === "LineString") {
        var line = f.geometry.coordinates.map(function (c) { return [c[1], c[0]]; });
        if (p.mci_change !== null && p.mci_change <= -0.5) worse++;
        if (p.mci_change !== null && p.mci_change >= 0.5) better++;
        L.polyline(line, { color: unitColour(p.mci_change), weight: 7, opacity: 0.8 })
          .bindPopup("Route " + p.route_id + " unit " + p.unit + " (" + p.from_m + "–" + p.to_m + " m)<br>" +
            "crack ratio " + p.crack_ratio_then + " → " + p.crack_ratio_now + " %<br>MCI " + p.mci_then + " → " + p.mci_now)
          .addTo(map);
        bounds = bounds.concat(line);
      } else {
        var ll = [f.geometry.coordinates[1], f.geometry.coordinates[0]];
        var colour = (STATUS[p.status] || ["#000"])[0];
        L.circleMarker(ll, { radius: 7, color: colour, fillColor: colour, fillOpacity: 0.9, className: "change-" + p.status })
          .bindPopup(p.class_name + ": " + p.status + (p.route_id ? "<br>route " + p.route_id + " at " + p.distance_m + " m" : "") +
            (p.size_then !== null || p.size_now !== null ? "<br>size " + p.size_then + " → " + p.size_now + " " + p.size_unit : "") +
            (p.repair_note ? "<br>" + p.repair_note : ""))
          .addTo(map);
        bounds.push(ll);
      }
    });
    document.getElementById("units").innerHTML =
      '<div class="legend-row"><span class="bar" style="background:#d7263d"></span>worse: ' + worse + "</div>" +
      '<div class="legend-row"><span class="bar" style="background:#1b998b"></span>better: ' + better + "</div>";
    if (bounds.length) map.fitBounds(bounds, { padding: [20, 20] }); else map.setView([35.68, 139.76], 12);
  }
  if (window.TENKEN_REPORT) { show(window.TENKEN_REPORT); return; }
  // Served by the API: its client (api_client.js) holds the command-post page's token.
  var q = new URLSearchParams(location.search);
  var client = window.tenkenApi;
  if (q.get("token")) client.setToken(q.get("token"), false);
  client.json("/api/compare.geojson", { then: q.get("then") || "", now: q.get("now") || "" })
    .then(show)
    .catch(function (e) {
      var refused = e.message === "unauthorised";
      document.getElementById("error").textContent = refused ? "The token was refused: sign in on the map page (/map), then open this page again." : String(e.message || e);
    });
})();
