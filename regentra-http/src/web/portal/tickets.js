// The portal's ticket pages: busy buttons while a form is sent, an early
// word on files too large, and new replies shown without a reload. The
// pages work without this script; it only adds to them.
"use strict";

(function () {
  // A form being sent says so on its button, and is not sent twice.
  for (const form of document.querySelectorAll("form[data-busy]")) {
    form.addEventListener("submit", function () {
      const button = form.querySelector("button[type=submit]");
      if (!button || button.disabled) return;
      button.dataset.label = button.textContent;
      form.setAttribute("aria-busy", "true");
      // After this turn, so that the button's own submission goes first.
      setTimeout(function () {
        button.disabled = true;
        button.textContent = form.dataset.busy;
      }, 0);
    });
  }
  // Coming back to the page from history: the buttons work again.
  window.addEventListener("pageshow", function () {
    for (const button of document.querySelectorAll("form[data-busy] button[data-label]")) {
      button.disabled = false;
      button.textContent = button.dataset.label;
      button.closest("form").removeAttribute("aria-busy");
    }
  });

  // Files over the limit are named at once (the server checks again).
  for (const input of document.querySelectorAll("input[type=file][data-max-bytes]")) {
    input.addEventListener("change", function () {
      const max = Number(input.dataset.maxBytes);
      const most = Number(input.dataset.maxFiles);
      const files = Array.from(input.files || []);
      let problem = "";
      const big = files.find(function (f) { return f.size > max; });
      if (files.length > most) {
        problem = "Attach at most " + most + " files to one message.";
      } else if (big) {
        problem = big.name + " is larger than the limit of " + Math.round(max / 1048576) + " MiB.";
      }
      const id = input.id + "-error";
      let error = document.getElementById(id);
      const field = input.closest(".field");
      if (!problem) {
        if (error && error.dataset.early) error.remove();
        input.removeAttribute("aria-invalid");
        if (field) field.classList.remove("has-error");
        return;
      }
      if (!error) {
        error = document.createElement("p");
        error.className = "field-error";
        error.id = id;
        error.dataset.early = "yes";
        input.parentNode.appendChild(error);
        const described = (input.getAttribute("aria-describedby") || "").split(" ");
        if (!described.includes(id)) described.push(id);
        input.setAttribute("aria-describedby", described.join(" ").trim());
      }
      error.textContent = problem;
      input.setAttribute("aria-invalid", "true");
      if (field) field.classList.add("has-error");
    });
  }

  // New public replies, polled from the server after the last one shown.
  const list = document.getElementById("conversation");
  if (!list || !list.dataset.updates) return;
  const status = document.getElementById("live-status");
  const note = document.getElementById("live-note");
  const empty = document.querySelector(".conversation-empty");
  const badge = document.getElementById("ticket-status");
  const every = 5000;
  let wait = every;
  let timer = null;
  let stopped = false;
  let busy = false;

  function lastId() {
    const items = list.querySelectorAll("li[data-comment-id]");
    return items.length ? items[items.length - 1].dataset.commentId : "";
  }

  function say(text) {
    // Cleared first, so the same words twice are announced twice.
    status.textContent = "";
    setTimeout(function () { status.textContent = text; }, 50);
  }

  function stop(text) {
    stopped = true;
    clearTimeout(timer);
    note.textContent = text;
    note.hidden = false;
  }

  function later(ms) {
    clearTimeout(timer);
    if (!stopped && document.visibilityState === "visible") {
      timer = setTimeout(poll, ms);
    }
  }

  async function poll() {
    if (busy || stopped) return;
    busy = true;
    let again = every;
    try {
      const url = list.dataset.updates + "?after=" + encodeURIComponent(lastId());
      const response = await fetch(url, {
        credentials: "same-origin",
        cache: "no-store",
        headers: { Accept: "application/json" },
      });
      const json = (response.headers.get("content-type") || "").includes("application/json");
      if ([401, 403, 404].includes(response.status) || (response.ok && !json)) {
        stop("New replies will show when you reload the page.");
        return;
      }
      if (!response.ok) throw new Error("status " + response.status);
      const data = await response.json();
      const added = [];
      for (const entry of data.entries) {
        if (document.getElementById("comment-" + entry.id)) continue;
        const template = document.createElement("template");
        template.innerHTML = entry.html.trim();
        const item = template.content.firstElementChild;
        if (item) {
          list.appendChild(item);
          added.push(entry);
        }
      }
      if (added.length) {
        if (empty) empty.hidden = true;
        const from = added[added.length - 1].author;
        say(added.length === 1
          ? "New reply from " + from + "."
          : added.length + " new replies, the last from " + from + ".");
      }
      if (badge && data.status_label && badge.textContent !== data.status_label) {
        badge.textContent = data.status_label;
        note.textContent = "This ticket is now " + data.status_label.toLowerCase() +
          ". Reload the page to see what you can do next.";
        note.hidden = false;
      }
      wait = every;
      again = data.more ? 0 : every;
    } catch (e) {
      // Offline or the server restarting: try again, less often each time.
      wait = Math.min(wait * 2, 60000);
      again = wait;
    } finally {
      busy = false;
    }
    later(again);
  }

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") later(0);
    else clearTimeout(timer);
  });
  window.addEventListener("online", function () { wait = every; later(0); });
  later(every);
})();
