/*
 * 技术转移撮合平台: the site's own script (no inline scripts or on* handlers:
 * the Content-Security-Policy allows scripts from 'self' only).
 *
 * Confirmation before a consequential action: put data-confirm="提示文字" on a
 * <form>, or on the submit button that should ask first.
 */
(function () {
  "use strict";

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement)) {
      return;
    }
    var submitter = event.submitter || null;
    var message =
      (submitter && submitter.getAttribute("data-confirm")) ||
      form.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
    }
  });
})();
