// Every portal page's script: where the focus goes when a page opens, and
// busy buttons. The pages work the same without it; it only adds to them.
//
// Where the focus goes when a page opens, one rule for every portal page,
// so that a keyboard or screen reader user lands on what their last
// action changed instead of at the top of the page:
//
// 1. A form sent back with errors: its first invalid field
//    (`aria-invalid="true"`), whose error is tied to it by
//    `aria-describedby`, so both are read at once and the person can fix
//    it straight away.
// 2. An error that belongs to no field (the form as a whole was refused):
//    its message, a `role="alert"` element with `tabindex="-1"`.
// 3. A page that opens with word of what just happened, mostly the
//    redirect after an action that succeeded (ticket sent, reply sent,
//    ticket reopened, policy signed, feedback given, chat ended or left as
//    a ticket, signed out): that message, a `role="status"` element with
//    `tabindex="-1"`. Always the message, never the new content itself
//    (the reply, the receipt): the message says what happened, on every
//    page alike, and what the action made is one Tab or heading further.
// 4. Else, a page opened at a form (`#chat-form` after a chat is started
//    or a message sent without script): that form's first field, to go
//    on typing.
// 5. Else the browser's own start: the top of the page.
//
// Later changes of a page (a reply or a chat message arriving live) never
// move the focus: they are announced by a polite live region instead.
"use strict";

(() => {
  const main = document.getElementById("main") || document.body;
  const opened = location.hash
    ? document.getElementById(decodeURIComponent(location.hash.slice(1)))
    : null;

  function place() {
    const target =
      main.querySelector('[aria-invalid="true"]') ||
      main.querySelector('[role="alert"][tabindex="-1"]') ||
      main.querySelector('[role="status"][tabindex="-1"]') ||
      (opened instanceof HTMLFormElement
        ? opened.querySelector("input:not([type=hidden]), textarea, select")
        : null);
    if (target && document.activeElement !== target) {
      target.focus();
    }
  }

  place();
  // A page opened at a fragment (`#feedback`, `#chat-form`): once the page
  // is laid out, which may be after this script ran, the browser moves the
  // focus to that element, or clears it when the element cannot take it.
  // Two frames after the load it has; the focus is put back then, unless
  // something else has it by now.
  if (location.hash) {
    window.addEventListener("load", () => {
      requestAnimationFrame(() => {
        requestAnimationFrame(() => {
          if (!document.activeElement || document.activeElement === document.body) {
            place();
          }
        });
      });
    });
  }
})();

// While a form marked `data-busy-label` is being sent, its submit button
// says so and cannot be pressed a second time.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.dataset.busyLabel) {
    return;
  }
  const button = form.querySelector('button[type="submit"]');
  if (!button || button.getAttribute("aria-disabled") === "true") {
    if (button) {
      event.preventDefault();
    }
    return;
  }
  button.dataset.idleLabel = button.textContent;
  button.textContent = form.dataset.busyLabel;
  button.setAttribute("aria-disabled", "true");
  form.setAttribute("aria-busy", "true");
});

// Coming back to the page from the browser's history shows it as it was
// left: the button is usable again.
window.addEventListener("pageshow", () => {
  for (const button of document.querySelectorAll('button[aria-disabled="true"]')) {
    if (button.dataset.idleLabel) {
      button.textContent = button.dataset.idleLabel;
    }
    button.removeAttribute("aria-disabled");
    button.closest("form")?.removeAttribute("aria-busy");
  }
});
