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
  // After a login that followed an ended session, send what was kept.
  var resume = document.querySelector("form[data-autosubmit]");
  if (resume) resume.submit();
})();
