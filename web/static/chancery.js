// Chancery: small enhancements only. Every page works without this file.
(function () {
  "use strict";
  // Warn before leaving a page with an answer typed but not saved.
  var dirty = null;
  document.addEventListener("input", function (e) {
    var f = e.target.form;
    if (f && f.classList.contains("answer")) dirty = f;
  });
  document.addEventListener("submit", function () { dirty = null; });
  window.addEventListener("beforeunload", function (e) {
    if (dirty) { e.preventDefault(); e.returnValue = ""; }
  });
  // A table or text too wide for the screen scrolls in its own box; let
  // the keyboard reach it too.
  function scrollers() {
    document.querySelectorAll("main table, main .scroll, main pre").forEach(function (el) {
      if (el.scrollWidth > el.clientWidth + 1 && !el.hasAttribute("tabindex")) el.setAttribute("tabindex", "0");
    });
  }
  scrollers();
  window.addEventListener("resize", scrollers);
  // After a login that followed an ended session, send what was kept.
  var resume = document.querySelector("form[data-autosubmit]");
  if (resume) resume.submit();
})();
