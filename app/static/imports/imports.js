/* Excel import page: upload with a progress bar, then follow the server's NDJSON progress lines
   (one per thousand rows checked or saved) until the result arrives as HTML. Words come from the page's
   data-* attributes, in the reader's language. Without JavaScript the form posts normally. */
(function () {
  "use strict";
  var form = document.getElementById("import-form");
  var box = document.getElementById("import-progress");
  if (!form || !box || !window.XMLHttpRequest || !window.FormData) { return; }
  var bar = box.querySelector(".progress-bar");
  var label = document.getElementById("import-progress-text");
  var result = document.getElementById("import-result");
  var submit = document.getElementById("import-submit");
  var words = box.dataset;
  var number = window.Intl ? new Intl.NumberFormat() : { format: String };

  function show(phase, percent, text) {
    box.hidden = false;
    box.setAttribute("data-phase", phase);
    // Which steps the reader saw, in order (also what the browser test checks).
    var seen = (box.getAttribute("data-seen") || "").split(" ").filter(Boolean);
    if (seen[seen.length - 1] !== phase) { seen.push(phase); }
    box.setAttribute("data-seen", seen.join(" "));
    percent = Math.max(0, Math.min(100, percent));
    bar.style.width = percent + "%";
    bar.setAttribute("aria-valuenow", String(percent));
    bar.textContent = percent + "%";
    label.textContent = text;
  }

  function finish(ok) {
    bar.classList.remove("active", "progress-bar-striped");
    bar.classList.add(ok ? "progress-bar-success" : "progress-bar-danger");
    submit.disabled = false;
  }

  function alertBox(message) {
    var div = document.createElement("div");
    div.className = "alert alert-danger";
    div.id = "import-file-error";
    div.setAttribute("role", "alert");
    div.textContent = message;
    result.innerHTML = "";
    result.appendChild(div);
  }

  function handle(message) {
    if (message.type === "progress") {
      var percent = message.total ? Math.round(message.done * 100 / message.total) : 0;
      var count = number.format(message.done) + (message.total ? " / " + number.format(message.total) : "");
      show(message.phase, percent, (words[message.phase] || message.phase) + " … " + count + " " + words.rows);
    } else if (message.type === "result") {
      result.innerHTML = message.html;
      show(message.ok ? "done" : "failed", 100, message.ok ? words.done : words.failed);
      finish(message.ok);
    } else if (message.type === "error") {
      alertBox(message.message);
      show("failed", 100, words.failed);
      finish(false);
    }
  }

  form.addEventListener("submit", function (event) {
    // The error report's button posts the same file to its own address: a plain download.
    if (event.submitter && event.submitter !== submit) { return; }
    event.preventDefault();
    var chosen = form.querySelector("input[type=file]").files[0];
    if (chosen && chosen.size > Number(form.getAttribute("data-max-bytes"))) {
      alertBox(form.getAttribute("data-too-big"));  // said at once, not after uploading it all
      return;
    }
    var xhr = new XMLHttpRequest();
    var read = 0;
    var done = false;

    function consume(final) {
      var text = xhr.responseText || "";
      var end = final ? text.length : text.lastIndexOf("\n") + 1;
      if (end <= read) { return; }
      text.slice(read, end).split("\n").forEach(function (line) {
        if (!line.trim()) { return; }
        var message;
        try { message = JSON.parse(line); } catch (e) { return; }  // not one of ours: reported by status below
        handle(message);
        done = done || message.type === "result" || message.type === "error";
      });
      read = end;
    }

    submit.disabled = true;
    result.innerHTML = "";
    box.removeAttribute("data-seen");
    box.removeAttribute("data-uploaded");
    bar.className = "progress-bar progress-bar-striped active";
    show("upload", 0, words.upload + " … 0%");
    xhr.open("POST", form.action);
    xhr.setRequestHeader("Accept", "application/x-ndjson");
    xhr.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) {
        var percent = Math.round(e.loaded * 100 / e.total);
        box.setAttribute("data-uploaded", String(percent));
        show("upload", percent, words.upload + " … " + percent + "%");
      }
    });
    xhr.addEventListener("progress", function () { consume(false); });
    xhr.addEventListener("load", function () {
      consume(true);
      if (!done) {
        alertBox(words.refused.replace("{status}", xhr.status));
        show("failed", 100, words.failed);
        finish(false);
      }
    });
    xhr.addEventListener("error", function () {
      alertBox(words.network);
      show("failed", 100, words.failed);
      finish(false);
    });
    xhr.send(new FormData(form));
  });
})();
