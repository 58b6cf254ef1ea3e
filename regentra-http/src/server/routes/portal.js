// The client portal's script: signs in through the API and shows the
// caller's own tickets, the portal knowledge base and, when the portal
// shows it, the compliance dashboard. Text from the API is only ever set
// through textContent.
(function () {
  "use strict";
  var org = document.body.dataset.org;
  var showDashboard = document.body.dataset.dashboard === "true";
  var token = sessionStorage.getItem("regentra-token");

  function api(method, path, body) {
    var init = { method: method, headers: { Authorization: "Bearer " + token } };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch("/v1/orgs/" + org + path, init).then(function (r) {
      return r.json().then(function (data) {
        if (!r.ok) throw new Error(data.detail || r.statusText);
        return data;
      });
    });
  }

  function list(id, items, text) {
    var ul = document.getElementById(id);
    ul.replaceChildren();
    items.forEach(function (item) {
      var li = document.createElement("li");
      li.textContent = text(item);
      ul.appendChild(li);
    });
  }

  function loadTickets() {
    return api("GET", "/tickets").then(function (page) {
      list("tickets", page.items, function (t) {
        var due = t.sla && t.sla.resolution_due ? " (due " + new Date(t.sla.resolution_due).toLocaleString() + ")" : "";
        return "#" + t.number + " " + t.subject + " [" + t.status + "]" + due;
      });
    });
  }

  function searchArticles(q) {
    return api("GET", "/kb/articles?q=" + encodeURIComponent(q || "")).then(function (page) {
      list("articles", page.items, function (a) { return a.title; });
    });
  }

  function loadDashboard() {
    if (!showDashboard) return Promise.resolve();
    return api("GET", "/portal/dashboard").then(function (d) {
      document.getElementById("dashboard").hidden = false;
      list("frameworks", d.frameworks, function (f) {
        return f.name + ": " + Math.round(f.score) + "% (" + f.implemented + "/" + f.total + ")";
      });
    }).catch(function () {});
  }

  function start() {
    document.getElementById("login").hidden = true;
    document.getElementById("app").hidden = false;
    loadTickets().catch(signOut);
    // An empty query lists the portal's articles.
    searchArticles("").catch(function () {});
    loadDashboard();
  }

  function signOut() {
    sessionStorage.removeItem("regentra-token");
    token = null;
    document.getElementById("login").hidden = false;
    document.getElementById("app").hidden = true;
  }

  document.getElementById("login-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var form = new FormData(e.target);
    fetch("/v1/auth/login", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ email: form.get("email"), password: form.get("password") })
    }).then(function (r) {
      return r.json().then(function (data) {
        if (!r.ok) throw new Error(data.detail || "sign-in failed");
        token = data.token;
        sessionStorage.setItem("regentra-token", token);
        start();
      });
    }).catch(function (err) {
      document.getElementById("login-error").textContent = err.message;
    });
  });

  document.getElementById("ticket-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var form = new FormData(e.target);
    api("POST", "/tickets", {
      subject: form.get("subject"),
      description: form.get("description"),
      priority: form.get("priority")
    }).then(function () { e.target.reset(); return loadTickets(); })
      .catch(function (err) { alert(err.message); });
  });

  document.getElementById("kb-form").addEventListener("submit", function (e) {
    e.preventDefault();
    searchArticles(new FormData(e.target).get("q"))
      .catch(function (err) { alert(err.message); });
  });

  if (token) start();
})();
