// The portal settings page's script (console/settings/portal.rs): the
// preview of the portal redrawn from the form as it is typed, a color
// picker beside each color's text field, the contrast of white text on
// each color as WCAG computes it, and copy buttons for the DNS record.
// Without it the page works the same: the preview shows the saved
// settings and the colors are typed as #rrggbb.
"use strict";

(function () {
  var form = document.querySelector("[data-portal-form]");
  var preview = document.querySelector("[data-portal-preview]");
  var HEX = /^#[0-9a-fA-F]{6}$/;
  // WCAG 2.1 AA for text of normal size (the core's MIN_TEXT_CONTRAST).
  var AA = 4.5;

  // The relative luminance of an sRGB color, and the contrast of white
  // text on it, as WCAG defines them (the core's contrast_ratio).
  function luminance(hex) {
    var channel = function (i) {
      var c = parseInt(hex.slice(i, i + 2), 16) / 255;
      return c <= 0.04045 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    };
    return 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
  }
  function contrastWithWhite(hex) {
    return 1.05 / (luminance(hex) + 0.05);
  }

  if (form && preview) {
    var field = function (name) { return form.elements.namedItem(name); };
    var nameOut = preview.querySelector("[data-preview-name]");
    var welcomeOut = preview.querySelector("[data-preview-welcome]");
    var logoOut = preview.querySelector("[data-preview-logo]");
    var compliance = preview.querySelector("[data-preview-compliance]");
    var assets = preview.querySelector("[data-preview-assets]");
    var warnings = document.querySelector("[data-contrast-warnings]");
    var colors = [
      { field: "primary_color", label: "Primary color", variable: "--brand", fallback: preview.getAttribute("data-default-brand") },
      { field: "accent_color", label: "Accent color", variable: "--accent", fallback: preview.getAttribute("data-default-accent") }
    ];
    var lastWarnings = warnings ? warnings.textContent.trim() : "";

    var update = function () {
      var problems = [];
      colors.forEach(function (color) {
        var typed = field(color.field).value.trim();
        var value = HEX.test(typed) ? typed.toLowerCase() : color.fallback;
        preview.style.setProperty(color.variable, value);
        var ratio = contrastWithWhite(value);
        if (ratio < AA) {
          problems.push(color.label + " " + value + ": white text on it has a contrast of " +
            (Math.floor(ratio * 10) / 10).toFixed(1) + ":1, and WCAG AA needs " + AA +
            ":1. Choose a darker shade.");
        }
      });
      var name = field("display_name").value.trim();
      nameOut.textContent = name || preview.getAttribute("data-org-name");
      var welcome = field("welcome_text").value.trim();
      welcomeOut.textContent = welcome;
      welcomeOut.hidden = welcome === "";
      // An uploaded logo is shown instead of the address (as on the portal).
      if (!preview.hasAttribute("data-uploaded-logo")) {
        var url = field("logo_url").value.trim();
        if (/^https:\/\/[^\s/?#]+/.test(url)) {
          if (logoOut.getAttribute("src") !== url) logoOut.setAttribute("src", url);
          logoOut.hidden = false;
        } else {
          logoOut.removeAttribute("src");
          logoOut.hidden = true;
        }
      }
      compliance.hidden = !field("show_compliance_dashboard").checked;
      assets.hidden = !field("show_assets").checked;
      // The live region is rewritten only when what it says changes, so
      // a screen reader hears a warning once, not at every key.
      var text = problems.join(" ");
      if (warnings && text !== lastWarnings) {
        lastWarnings = text;
        warnings.textContent = "";
        problems.forEach(function (problem) {
          var p = document.createElement("p");
          p.className = "contrast-warning";
          p.textContent = problem;
          warnings.appendChild(p);
        });
      }
    };

    // Each picker is shown beside its text field and keeps it in step.
    document.querySelectorAll("[data-color-picker]").forEach(function (picker) {
      var text = field(picker.getAttribute("data-color-picker"));
      if (!text) return;
      if (HEX.test(text.value.trim())) picker.value = text.value.trim().toLowerCase();
      picker.hidden = false;
      picker.addEventListener("input", function () {
        text.value = picker.value;
        update();
      });
      text.addEventListener("input", function () {
        if (HEX.test(text.value.trim())) picker.value = text.value.trim().toLowerCase();
      });
    });
    form.addEventListener("input", update);
    form.addEventListener("change", update);
    update();
  }

  // The DNS record's name and value, copied with one press.
  var copyStatus = document.querySelector("[data-copy-status]");
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source || !navigator.clipboard) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(source.value).then(function () {
        if (copyStatus) copyStatus.textContent = "Copied.";
      }, function () {
        source.select();
        if (copyStatus) copyStatus.textContent = "Select the text and copy it.";
      });
    });
  });
})();
