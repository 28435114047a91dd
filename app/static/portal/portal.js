/* Checks in the browser before sending, with the messages the server would give (data-msg-* attributes,
   already in the customer's language); the server checks everything again. */
(function () {
  "use strict";
  function messageFor(el) {
    var v = el.validity;
    if (v.valueMissing) return el.getAttribute("data-msg-required");
    if (v.patternMismatch) return el.getAttribute("data-msg-pattern");
    if (v.typeMismatch) return el.getAttribute("data-msg-type");
    if (v.tooShort) return el.getAttribute("data-msg-minlength");
    return null;
  }
  function errorBox(el) {
    var field = el.closest(".field");
    return field ? field.querySelector(".error") : null;
  }
  function show(el, text) {
    var box = errorBox(el), field = el.closest(".field");
    if (box) box.textContent = text || "";
    if (field) field.classList.toggle("has-error", !!text);
  }
  function checkPhotos(form, input) {
    if (!input.files) return "";
    var max = parseInt(form.getAttribute("data-max-photos"), 10);
    var maxKb = parseInt(form.getAttribute("data-max-photo-kb"), 10);
    var maxTotalKb = parseInt(form.getAttribute("data-max-total-kb"), 10);
    if (input.files.length > max) return form.getAttribute("data-msg-photo-count");
    var total = 0;
    for (var i = 0; i < input.files.length; i++) {
      var f = input.files[i];
      var looksLikePhoto = /^image\//.test(f.type) || /\.(jpe?g|png|gif|webp|hei[cf])$/i.test(f.name);
      if (!looksLikePhoto) return form.getAttribute("data-msg-photo-type").replace("{name}", f.name);
      if (f.size > maxKb * 1024) return form.getAttribute("data-msg-photo-size").replace("{name}", f.name);
      total += f.size;
    }
    // Each photo may be within its limit and all of them together still over what one request may carry.
    if (maxTotalKb && total > maxTotalKb * 1024) return form.getAttribute("data-msg-photo-total");
    return "";
  }
  document.querySelectorAll("form").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      var first = null;
      form.querySelectorAll("input, textarea").forEach(function (el) {
        var text = "";
        if (el.type === "file") text = checkPhotos(form, el);
        else if (el.willValidate && !el.checkValidity()) text = messageFor(el) || el.validationMessage;
        if (el.type !== "radio" || text) show(el, text);
        if (text && !first) first = el;
      });
      if (first) {
        event.preventDefault();
        first.focus();
        return;
      }
      // One tap is one request: a second tap while the first is on its way does nothing.
      var button = form.querySelector("button[type=submit]");
      if (button) {
        if (button.disabled) { event.preventDefault(); return; }
        setTimeout(function () { button.disabled = true; }, 0);
      }
    });
  });

  // Knowledge-base articles that may answer the problem while it is being described (opened in a new tab,
  // so what was typed stays).
  var box = document.getElementById("help-suggestions");
  var description = document.querySelector("#submit-form textarea[name=description]");
  if (box && description && window.fetch) {
    var timer = null, asked = "";
    description.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var text = description.value.trim();
        if (text.length < 4 || text === asked) return;
        asked = text;
        fetch(box.getAttribute("data-url") + "?q=" + encodeURIComponent(text), {credentials: "same-origin"})
          .then(function (r) { return r.ok ? r.json() : {articles: []}; })
          .then(function (data) {
            if (text !== asked) return;
            var list = document.getElementById("help-list");
            list.textContent = "";
            data.articles.forEach(function (a) {
              var item = document.createElement("li"), link = document.createElement("a");
              link.href = a.url; link.target = "_blank"; link.rel = "noopener"; link.textContent = a.title;
              item.appendChild(link); list.appendChild(item);
            });
            box.hidden = data.articles.length === 0;
          })
          .catch(function () { box.hidden = true; });
      }, 400);
    });
  }
  // "Back" returns to the form as it was left, with what was typed; without history (or script) the link
  // opens the portal's start page. A javascript: link would be refused by the Content-Security-Policy.
  document.querySelectorAll("[data-history-back]").forEach(function (link) {
    link.addEventListener("click", function (event) {
      if (window.history.length > 1) {
        event.preventDefault();
        window.history.back();
      }
    });
  });
})();
