/* Review panel of the command-post map: an operator confirms, rejects or re-classes a finding with
   its evidence crop and source frame beside it, draws or adjusts its box on the frame, adds a note,
   and moves its repair status. Everything is built with DOM calls (no HTML from data). */
(function () {
  "use strict";

  var CLASSES = ["D00", "D10", "D20", "D40", "Repair"];
  var VERDICTS = [["confirmed", "Confirm"], ["rejected", "Reject"], ["reclassed", "Re-class"]];
  var STATUSES = ["open", "scheduled", "repaired", "dismissed"];
  var state = { props: null, image: null, box: null, drawn: false, frameIndex: null, drag: null };

  function node(tag, attrs, children) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") { e.textContent = attrs[k]; } else { e.setAttribute(k, attrs[k]); }
    });
    (children || []).forEach(function (c) { e.appendChild(c); });
    return e;
  }
  var client = window.tenkenApi;
  var call = client.send;
  var blob = client.blob;

  var panel = node("div", { id: "review-panel", role: "dialog", "aria-label": "Review a finding" });
  panel.hidden = true;
  var title = node("h2", { id: "review-title" });
  var close = node("button", { type: "button", id: "review-close", "aria-label": "Close", text: "×" });
  var crop = node("img", { id: "review-crop", alt: "evidence crop" });
  var canvas = node("canvas", { id: "review-frame", width: "320", height: "240" });
  var frameNote = node("figcaption", { id: "review-frame-note", text: "loading the source frame…" });
  var current = node("div", { id: "review-current", class: "muted small" });
  var verdicts = node("div", { class: "filter-row", id: "review-verdicts" }, VERDICTS.map(function (v) {
    return node("label", {}, [node("input", { type: "radio", name: "verdict", value: v[0] }), document.createTextNode(v[1])]);
  }));
  var classSelect = node("select", { id: "review-class", "aria-label": "Class" }, CLASSES.map(function (c) { return node("option", { value: c, text: c }); }));
  var note = node("textarea", { id: "review-note", rows: "2", maxlength: "2000", placeholder: "Note" });
  var save = node("button", { type: "submit", id: "review-save", text: "Save review" });
  var status = node("div", { id: "review-status", role: "status", class: "small" });
  var reviewForm = node("form", { id: "review-form" }, [verdicts, node("label", { text: "Class " }, [classSelect]), note, save, status]);
  var repairSelect = node("select", { id: "repair-status", "aria-label": "Repair status" }, STATUSES.map(function (c) { return node("option", { value: c, text: c }); }));
  var repairNote = node("input", { id: "repair-note", type: "text", maxlength: "2000", placeholder: "Note (crew, order no.)" });
  var repairSave = node("button", { type: "submit", id: "repair-save", text: "Save status" });
  var repairMessage = node("div", { id: "repair-message", role: "status", class: "small" });
  var history = node("ul", { id: "repair-history", class: "small" });
  var repairForm = node("form", { id: "repair-form" }, [node("h3", { text: "Repair" }), repairSelect, repairNote, repairSave, repairMessage, history]);
  panel.appendChild(node("header", {}, [title, close]));
  panel.appendChild(node("div", { class: "review-images" }, [
    node("figure", {}, [crop, node("figcaption", { text: "evidence" })]),
    node("figure", { class: "frame" }, [canvas, frameNote])
  ]));
  panel.appendChild(current);
  panel.appendChild(reviewForm);
  panel.appendChild(repairForm);
  document.body.appendChild(panel);

  function draw() {
    var ctx = canvas.getContext("2d");
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    if (state.image) { ctx.drawImage(state.image, 0, 0); }
    if (state.box) {
      ctx.lineWidth = Math.max(2, canvas.width / 200);
      ctx.strokeStyle = state.drawn ? "#22d3ee" : "#facc15";
      var b = state.box;
      ctx.strokeRect(b[0], b[1], b[2] - b[0], b[3] - b[1]);
    }
  }
  function toImage(event) {
    var r = canvas.getBoundingClientRect();
    var x = (event.clientX - r.left) * canvas.width / r.width;
    var y = (event.clientY - r.top) * canvas.height / r.height;
    return [Math.max(0, Math.min(canvas.width, x)), Math.max(0, Math.min(canvas.height, y))];
  }
  canvas.addEventListener("mousedown", function (e) { if (state.image) { state.drag = toImage(e); } });
  canvas.addEventListener("mousemove", function (e) {
    if (!state.drag) { return; }
    var p = toImage(e), a = state.drag;
    state.box = [Math.min(a[0], p[0]), Math.min(a[1], p[1]), Math.max(a[0], p[0]), Math.max(a[1], p[1])];
    state.drawn = true;
    draw();
  });
  window.addEventListener("mouseup", function () {
    if (state.drag && state.box && (state.box[2] - state.box[0] < 2 || state.box[3] - state.box[1] < 2)) { state.drawn = false; }
    state.drag = null;
  });

  function showReview(review, repair) {
    current.textContent = review
      ? "Reviewed: " + review.verdict + (review.verdict === "reclassed" ? " from " + review.detected_class : "") + " by " + review.reviewer + " at " + new Date(review.reviewed_at).toLocaleString() + (review.note ? " · " + review.note : "")
      : "Not reviewed yet.";
    if (review) {
      (reviewForm.querySelector('input[value="' + review.verdict + '"]') || {}).checked = true;
      note.value = review.note;
    }
    repairSelect.value = repair.status;
    history.textContent = "";
    repair.history.forEach(function (h) {
      history.appendChild(node("li", { text: h.status + " · " + new Date(h.at).toLocaleString() + " · " + h.by + (h.note ? " · " + h.note : "") }));
    });
    if (repair.reopened) { history.appendChild(node("li", { class: "reopened", text: "Re-opened: found again after its repair." })); }
  }

  function loadFrame(id, frameIndex) {
    frameNote.textContent = "loading the source frame…";
    canvas.removeAttribute("data-loaded");
    var query = frameIndex === null ? "" : "?frame_index=" + encodeURIComponent(frameIndex);
    return blob("/api/defects/" + encodeURIComponent(id) + "/frame" + query).then(function (b) {
      var img = new Image();
      return new Promise(function (resolve) {
        img.onload = function () {
          state.image = img;
          canvas.width = img.naturalWidth;
          canvas.height = img.naturalHeight;
          draw();
          frameNote.textContent = "Frame " + frameIndex + ": drag to draw the box (faces and plates blurred).";
          canvas.setAttribute("data-loaded", "true");
          resolve();
        };
        img.src = URL.createObjectURL(b);
      });
    }).catch(function (err) {
      state.image = null;
      frameNote.textContent = "Source frame unavailable: " + err.message;
      canvas.setAttribute("data-loaded", "failed");
    });
  }

  function setTitle(cls) {
    title.textContent = cls + " #" + state.props.defect_id + " · survey " + String(state.props.job_id).slice(0, 8);
  }

  function open(props) {
    state = { props: props, image: null, box: null, drawn: false, frameIndex: null, drag: null };
    window.tenkenLive.map.closePopup(); // the panel shows all the popup did; the map reloads on save
    panel.hidden = false;
    setTitle(props["class"]);
    classSelect.value = props["class"];
    note.value = "";
    status.textContent = "";
    repairMessage.textContent = "";
    repairNote.value = "";
    Array.prototype.forEach.call(reviewForm.querySelectorAll('input[name="verdict"]'), function (i) { i.checked = false; });
    crop.removeAttribute("src");
    blob("/api/defects/" + encodeURIComponent(props.id) + "/crop").then(function (b) { crop.src = URL.createObjectURL(b); }).catch(function () { crop.alt = "no evidence crop"; });
    Promise.all([
      call("GET", "/api/defects/" + encodeURIComponent(props.id)),
      call("GET", "/api/defects/" + encodeURIComponent(props.id) + "/review")
    ]).then(function (got) {
      var observations = got[0].properties.observations || [];
      var review = got[1].review;
      var best = observations.filter(function (o) { return o.frame_index === props.best_frame; })[0] || observations[0];
      // a box a reviewer drew before is kept (sent again) unless redrawn
      if (review && review.box_xyxy) { state.frameIndex = review.frame_index; state.box = review.box_xyxy; state.drawn = true; }
      else if (best) { state.frameIndex = best.frame_index; state.box = best.box_xyxy; }
      else { state.frameIndex = props.best_frame; }
      showReview(review, got[1].repair);
      return loadFrame(props.id, state.frameIndex);
    }).catch(function (err) { status.textContent = "Could not load: " + err.message; });
  }

  close.addEventListener("click", function () { panel.hidden = true; });
  reviewForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var checked = reviewForm.querySelector('input[name="verdict"]:checked');
    if (!checked) { status.textContent = "Choose confirm, reject or re-class."; return; }
    var body = { verdict: checked.value, note: note.value };
    if (checked.value === "reclassed") { body.class_name = classSelect.value; }
    if (state.drawn && state.box) {
      body.box_xyxy = state.box.map(function (v) { return Math.round(v * 10) / 10; });
      body.frame_index = state.frameIndex;
    }
    status.textContent = "saving…";
    call("POST", "/api/defects/" + encodeURIComponent(state.props.id) + "/review", body).then(function (r) {
      return window.tenkenLive.reload().then(function () {
        return call("GET", "/api/defects/" + encodeURIComponent(state.props.id) + "/review");
      }).then(function (got) {
        showReview(got.review, got.repair);
        setTitle(got.review.class_name);
        status.textContent = "Saved: " + r.review.verdict + "; " + r.segments_graded + " segments graded again.";
      });
    }).catch(function (err) { status.textContent = "Not saved: " + err.message; });
  });
  repairForm.addEventListener("submit", function (event) {
    event.preventDefault();
    repairMessage.textContent = "saving…";
    var id = state.props.id;
    call("POST", "/api/defects/" + encodeURIComponent(id) + "/repair", { status: repairSelect.value, note: repairNote.value }).then(function () {
      return call("GET", "/api/defects/" + encodeURIComponent(id) + "/review");
    }).then(function (got) {
      showReview(got.review, got.repair);
      repairMessage.textContent = "Saved: " + got.repair.status + ".";
      return window.tenkenLive.reload();
    }).catch(function (err) { repairMessage.textContent = "Not saved: " + err.message; });
  });

  window.tenkenReview = { open: open, state: function () { return state; } };
})();
