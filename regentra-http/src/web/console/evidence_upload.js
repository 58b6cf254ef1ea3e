// The evidence file form's progress: when scripts run, the form is sent
// with XMLHttpRequest so the upload's progress can be shown in a <progress>
// element; the server's answer (the control page, or the form with its
// errors) then replaces the page, as a plain submit would. Without
// scripts, or if anything here fails, the form posts as usual.
(function () {
  "use strict";
  var form = document.querySelector("form[data-upload-progress]");
  if (!form || !window.XMLHttpRequest || !window.FormData) {
    return;
  }
  var bar = form.querySelector("[data-progress]");
  var words = form.querySelector("[data-progress-text]");
  form.addEventListener("submit", function (event) {
    var input = form.querySelector("input[type=file]");
    if (!input || !input.files || input.files.length === 0) {
      return; // the server says a file is needed, next to the field
    }
    event.preventDefault();
    var request = new XMLHttpRequest();
    request.open("POST", form.action);
    request.upload.addEventListener("progress", function (e) {
      if (!e.lengthComputable) {
        return;
      }
      var percent = Math.floor((e.loaded / e.total) * 100);
      bar.value = percent;
      words.textContent = "Uploading: " + percent + "%";
    });
    request.addEventListener("load", function () {
      // The answer is a page: a redirect followed to the control, or the
      // form again with its errors. Show it as the browser would.
      if (request.responseURL && request.responseURL !== form.action) {
        window.location.assign(request.responseURL);
        return;
      }
      document.open();
      document.write(request.responseText);
      document.close();
    });
    request.addEventListener("error", function () {
      words.textContent = "The upload failed. Check the connection and try again.";
      form.removeAttribute("aria-busy");
    });
    bar.hidden = false;
    bar.value = 0;
    words.textContent = "Uploading: 0%";
    form.setAttribute("aria-busy", "true");
    request.send(new FormData(form));
  });
})();
