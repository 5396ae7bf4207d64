// Berth catalog: copy buttons, typed confirmations, auto-submitting filters. No framework.
(function () {
  "use strict";

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    return new Promise(function (resolve, reject) {
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.style.position = "fixed";
      area.style.opacity = "0";
      document.body.appendChild(area);
      area.select();
      try {
        document.execCommand("copy") ? resolve() : reject(new Error("copy failed"));
      } catch (err) {
        reject(err);
      } finally {
        document.body.removeChild(area);
      }
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) return;
    copyText(source.textContent.trim()).then(
      function () { flash(button, "Copied"); },
      function () { flash(button, "Press Ctrl+C"); selectText(source); }
    );
  });

  function flash(button, label) {
    var original = button.dataset.label || button.textContent;
    button.dataset.label = original;
    button.textContent = label;
    button.classList.add("copied");
    setTimeout(function () { button.textContent = original; button.classList.remove("copied"); }, 1600);
  }

  function selectText(node) {
    var range = document.createRange();
    range.selectNodeContents(node);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-confirm-value]").forEach(function (input) {
      var target = document.getElementById(input.getAttribute("data-confirm-target"));
      if (!target) return;
      var update = function () { target.disabled = input.value.trim() !== input.getAttribute("data-confirm-value"); };
      input.addEventListener("input", update);
      update();
    });
    document.querySelectorAll("form[data-autosubmit] select").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });
    // "Select all on this page": every checkbox that belongs to the named form.
    document.querySelectorAll("[data-select-all]").forEach(function (all) {
      var boxes = function () {
        return document.querySelectorAll('input[type=checkbox][form="' + all.getAttribute("data-select-all") + '"]');
      };
      all.addEventListener("change", function () {
        boxes().forEach(function (box) { box.checked = all.checked; });
      });
    });
    // Bar widths come as data (the Content-Security-Policy allows no inline style attribute).
    document.querySelectorAll("[data-percent]").forEach(function (bar) {
      bar.style.width = bar.getAttribute("data-percent") + "%";
    });
  });
})();
