// Keyboard shortcuts for the review pages. Each shortcut is an element's data-key attribute, shown
// on screen beside it; this script only presses what a mouse could press. Pages work without it.
"use strict";
(function () {
  function typing(el) {
    if (!el) return false;
    var tag = el.tagName;
    if (tag === "TEXTAREA" || tag === "SELECT") return true;
    return tag === "INPUT" && !/^(radio|checkbox|button|submit|image|range)$/.test(el.type);
  }
  function decisionForm() {
    return document.getElementById("vote") || document.getElementById("grid");
  }
  function ready(form) {
    if (!form.querySelector("input[name=choice]:checked")) return false;
    return form.id !== "grid" || form.querySelector("input.pick:checked") !== null;
  }
  function move(step) {
    var picks = Array.prototype.slice.call(document.querySelectorAll("input.pick"));
    if (!picks.length) return false;
    var at = picks.indexOf(document.activeElement);
    picks[Math.max(0, Math.min(picks.length - 1, at + step))].focus();
    return true;
  }
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.altKey || event.metaKey) return;
    var active = document.activeElement;
    if (event.key === "Escape" && typing(active)) { active.blur(); return; }
    if (typing(active)) return;
    if (event.key === "Enter") {
      var form = decisionForm();
      if (form && ready(form)) { event.preventDefault(); form.requestSubmit(); }
      return;
    }
    if (event.key === "ArrowRight" || event.key === "ArrowDown") { if (move(1)) event.preventDefault(); return; }
    if (event.key === "ArrowLeft" || event.key === "ArrowUp") { if (move(-1)) event.preventDefault(); return; }
    if (event.key === "x" && active && active.classList.contains("pick")) {
      active.checked = !active.checked; event.preventDefault(); return;
    }
    if (event.key === "a" && document.querySelector("input.pick")) {
      var picks = document.querySelectorAll("input.pick");
      var all = Array.prototype.every.call(picks, function (p) { return p.checked; });
      Array.prototype.forEach.call(picks, function (p) { p.checked = !all; });
      event.preventDefault(); return;
    }
    var target = document.querySelector('[data-key="' + (event.key.length === 1 ? event.key.toLowerCase() : "") + '"]');
    if (!target) return;
    event.preventDefault();
    if (target.type === "radio") { target.checked = true; target.focus(); }
    else if (target.type === "checkbox") { target.checked = !target.checked; }
    else if (target.hasAttribute("data-focus")) { target.focus(); }
    else { target.click(); }
  });
})();
