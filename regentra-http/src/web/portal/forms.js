// Portal forms: while a form marked `data-busy-label` is being sent, its
// submit button says so and cannot be pressed a second time. The forms
// work the same without this script.
"use strict";

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
