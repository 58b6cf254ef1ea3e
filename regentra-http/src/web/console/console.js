// The staff console's script: what the pages do better with JavaScript.
// Every page works without it (the switcher is a list of links, forms
// post and redirect); this adds the switcher's filter, closes it with
// Escape, and moves focus to a page's message after an action.
"use strict";

(function () {
  // The client switcher: a filter box over the list of clients, shown
  // only when the script runs (it is `hidden` in the page).
  document.querySelectorAll("[data-switcher]").forEach(function (switcher) {
    var filter = switcher.querySelector("[data-switcher-filter]");
    var none = switcher.querySelector("[data-switcher-none]");
    var items = Array.prototype.slice.call(switcher.querySelectorAll("li"));
    if (!filter) return;
    filter.hidden = false;
    switcher.addEventListener("toggle", function () {
      if (switcher.open) filter.focus();
    });
    filter.addEventListener("input", function () {
      var wanted = filter.value.trim().toLowerCase();
      var shown = 0;
      items.forEach(function (item) {
        var match = item.textContent.toLowerCase().indexOf(wanted) !== -1;
        item.hidden = !match;
        if (match) shown += 1;
      });
      if (none) none.hidden = shown !== 0;
    });
    filter.addEventListener("keydown", function (event) {
      // Enter opens the only (or first) client left.
      if (event.key === "Enter") {
        var first = items.filter(function (i) { return !i.hidden; })[0];
        if (first) {
          event.preventDefault();
          first.querySelector("a").click();
        }
      }
    });
    switcher.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && switcher.open) {
        switcher.open = false;
        switcher.querySelector("summary").focus();
      }
    });
  });

  // Live regions (`data-live="name"`): the queue and a ticket's
  // conversation. Every few seconds the page is fetched again and each
  // region whose content changed is replaced, unless the person is
  // working inside it (focus there) or has a text selection in it. The
  // regions are `aria-live="polite"`: a change is announced, focus stays
  // where it is.
  //
  // Only while the person is at the page: after ten minutes without a key,
  // a click or a scroll the refreshes stop (until the next one), so an
  // unattended tab does not keep its session alive past its idle limit.
  var regions = document.querySelectorAll("[data-live]");
  var lastActive = Date.now();
  ["keydown", "pointerdown", "scroll", "focus"].forEach(function (type) {
    window.addEventListener(type, function () { lastActive = Date.now(); }, { passive: true, capture: true });
  });
  if (regions.length && window.fetch && window.DOMParser) {
    // One request at a time; a page that answers slowly is asked less
    // often (up to once a minute), and an unchanged one answers 304 to the
    // tag it sent last time.
    var busy = false;
    var delay = 5000;
    var tag = null;
    var refresh = function () {
      if (busy || document.hidden) return schedule();
      if (Date.now() - lastActive > 10 * 60 * 1000) return schedule();
      busy = true;
      var started = Date.now();
      var headers = { Accept: "text/html", "X-Regentra-Refresh": "1" };
      if (tag) headers["If-None-Match"] = tag;
      fetch(window.location.href, { credentials: "same-origin", headers: headers })
        .then(function (response) {
          if (response.status === 304) return null;
          if (!response.ok || response.redirected) return null;
          tag = response.headers.get("ETag");
          return response.text();
        })
        .then(function (html) {
          if (!html) return;
          var fresh = new DOMParser().parseFromString(html, "text/html");
          regions.forEach(function (region) {
            var name = region.getAttribute("data-live");
            var next = fresh.querySelector('[data-live="' + name + '"]');
            if (!next || next.innerHTML === region.innerHTML) return;
            if (region.contains(document.activeElement)) return;
            var selection = window.getSelection && window.getSelection();
            if (selection && !selection.isCollapsed && region.contains(selection.anchorNode)) return;
            region.innerHTML = next.innerHTML;
            region.setAttribute("data-refreshed", String(Date.now()));
          });
        })
        .catch(function () {
          // Offline for a moment: the next round tries again.
        })
        .then(function () {
          busy = false;
          var took = Date.now() - started;
          delay = took > 1000 ? Math.min(delay * 2, 60000) : 5000;
          schedule();
        });
    };
    var timer = null;
    var schedule = function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(refresh, delay);
    };
    schedule();
  }

  // Chats waiting for a first answer: every page of a person who answers
  // chats asks the server every 15 seconds (while they are at the page)
  // and shows who waits, with a link to answer; the Chats link of the
  // navigation carries the number. A chat answered by anyone leaves it.
  var alertBox = document.querySelector("[data-chat-alert]");
  if (alertBox && window.fetch) {
    var chatsLink = document.querySelector('.console-nav a[href$="/chats"]');
    var shown = "";
    var render = function (data) {
      var key = JSON.stringify(data.chats) + data.count;
      if (key === shown) return;
      shown = key;
      if (chatsLink) {
        var badge = chatsLink.querySelector(".count-badge");
        if (data.count > 0) {
          if (!badge) {
            badge = document.createElement("span");
            badge.className = "count-badge";
            chatsLink.appendChild(document.createTextNode(" "));
            chatsLink.appendChild(badge);
          }
          badge.textContent = String(data.count);
          var hidden = document.createElement("span");
          hidden.className = "visually-hidden";
          hidden.textContent = " waiting";
          badge.appendChild(hidden);
        } else if (badge) {
          badge.remove();
        }
      }
      alertBox.textContent = "";
      if (!data.count) {
        alertBox.hidden = true;
        return;
      }
      var heading = document.createElement("p");
      heading.className = "chat-alert-title";
      heading.textContent = data.count === 1
        ? "A client is waiting in a chat"
        : data.count + " clients are waiting in chats";
      alertBox.appendChild(heading);
      var list = document.createElement("ul");
      data.chats.forEach(function (chat) {
        var item = document.createElement("li");
        var link = document.createElement("a");
        link.href = chat.href;
        link.textContent = "Answer " + chat.requester;
        item.appendChild(link);
        item.appendChild(document.createTextNode(" · " + chat.client));
        list.appendChild(item);
      });
      alertBox.appendChild(list);
      if (data.count > data.chats.length) {
        var more = document.createElement("a");
        more.href = data.list;
        more.textContent = "See all waiting chats";
        alertBox.appendChild(more);
      }
      alertBox.hidden = false;
    };
    var ask = function () {
      if (document.hidden) return;
      if (Date.now() - lastActive > 10 * 60 * 1000) return;
      fetch(alertBox.getAttribute("data-chat-alert"), {
        credentials: "same-origin",
        headers: { Accept: "application/json", "X-Regentra-Refresh": "1" },
      })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (data) { if (data) render(data); })
        .catch(function () {});
    };
    ask();
    window.setInterval(ask, 15000);
  }

  // After an action the page shows its outcome in an element marked
  // `data-focus-on-load` (a success notice or an error summary): focus
  // goes there, so a screen reader reads it and the keyboard continues
  // from it.
  var outcome = document.querySelector("[data-focus-on-load]");
  if (outcome) {
    if (!outcome.hasAttribute("tabindex")) outcome.setAttribute("tabindex", "-1");
    outcome.focus();
  }
})();
