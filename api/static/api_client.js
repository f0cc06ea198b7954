/* Tenken pages talk to the API through this one client (window.tenkenApi): it keeps the token where
   every page finds it (localStorage "tenken.token"), sends it in a header (never in a URL, except
   where an <img> or EventSource cannot send one), tells the page when the token is refused, and turns
   a failed request into an Error carrying the API's own `detail`. Load it before the page's scripts. */
(function () {
  "use strict";

  var TOKEN_KEY = "tenken.token";
  var current = localStorage.getItem(TOKEN_KEY) || "";
  var refusedHandlers = [];

  function token() { return current; }

  // remember=false keeps a token given in a URL (?token=) for this page only.
  function setToken(value, remember) {
    current = String(value || "").trim();
    if (remember !== false) { localStorage.setItem(TOKEN_KEY, current); }
  }

  // fn(): the API refused the token (401); the page asks for another.
  function onRefused(fn) { refusedHandlers.push(fn); }

  function failure(r) {
    return r.json().catch(function () { return {}; }).then(function (body) {
      var detail = body.detail;
      if (Array.isArray(detail)) { // FastAPI's 422: name each field with its message
        detail = detail.map(function (d) { return (d.loc || []).slice(-1)[0] + ": " + d.msg; }).join("; ");
      }
      detail = typeof detail === "string" ? detail : "";
      throw new Error(detail || r.statusText || "HTTP " + r.status);
    });
  }

  // The Response of an authorised request; rejects with Error("unauthorised") on 401 (after telling
  // the page) and with the API's detail on any other failure. params: URLSearchParams or a plain object.
  function request(method, path, params, body) {
    var query = params ? new URLSearchParams(params).toString() : "";
    var init = { method: method, headers: { Authorization: "Bearer " + current } };
    if (body !== undefined) { init.headers["Content-Type"] = "application/json"; init.body = JSON.stringify(body); }
    return fetch(path + (query ? "?" + query : ""), init).then(function (r) {
      if (r.status === 401) {
        refusedHandlers.forEach(function (fn) { fn(); });
        throw new Error("unauthorised");
      }
      return r.ok ? r : failure(r);
    });
  }

  window.tenkenApi = {
    token: token,
    setToken: setToken,
    onRefused: onRefused,
    request: request,
    json: function (path, params) { return request("GET", path, params).then(function (r) { return r.json(); }); },
    send: function (method, path, body) { return request(method, path, null, body).then(function (r) { return r.json(); }); },
    blob: function (path) { return request("GET", path).then(function (r) { return r.blob(); }); }
  };
})();
