// ruledesk front-end glue: the shared dialog, toasts, and small form helpers.
// Everything else is htmx attributes in the templates.
(function () {
  "use strict";
  const ruledesk = (window.ruledesk = {});
  let lineIndex = 1000;

  ruledesk.nextLineIndex = () => ++lineIndex;

  ruledesk.copyBuyer = function (form) {
    for (const [from, to] of [["buyer_name", "recipient_name"], ["buyer_phone", "recipient_phone"],
                              ["buyer_mobile", "recipient_mobile"]]) {
      form.elements[to].value = form.elements[from].value;
    }
  };

  // copy a button's data-copy text (a coupon code); without the clipboard API (plain http
  // off localhost) fall back to a selected textarea and execCommand
  ruledesk.copyText = function (button) {
    const text = button.dataset.copy;
    const done = () => { button.textContent = button.dataset.copied || "✓"; };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, () => ruledesk.toast(text));
      return;
    }
    const area = document.createElement("textarea");
    area.value = text;
    area.style.position = "fixed";
    area.style.opacity = "0";
    button.parentNode.appendChild(area);   // inside an open modal dialog: not inert
    area.select();
    try { document.execCommand("copy"); done(); } catch (e) { ruledesk.toast(text); }
    area.remove();
  };

  ruledesk.toast = function (text, kind) {
    const box = document.getElementById("toasts");
    const item = document.createElement("div");
    item.className = "toast " + (kind || "ok");
    item.textContent = text;
    box.appendChild(item);
    setTimeout(() => item.remove(), 4000);
  };

  document.addEventListener("htmx:afterSettle", (event) => {
    // whatever lands in the dialog body opens the dialog, unless the response closes it
    // (htmx fires these events on the target even for HX-Reswap: none). On settle, not on
    // swap: only then are the new content's hx- attributes wired, so nothing shown can be
    // used before it works (a select changed at once would send no request).
    const xhr = event.detail.xhr;
    const closing = xhr && (xhr.getResponseHeader("HX-Trigger") || "").includes("ruledesk:closeDialog");
    if (event.detail.target.id === "dialog-body" && event.detail.target.innerHTML.trim() && !closing) {
      const dialog = document.getElementById("dialog");
      if (!dialog.open) dialog.showModal();
      const first = dialog.querySelector("input:not([type=hidden]), select, textarea");
      if (first) first.focus();
    }
  });
  document.body.addEventListener("ruledesk:closeDialog", () => {
    const dialog = document.getElementById("dialog");
    if (dialog.open) dialog.close();
    // clear after the other events of this response were dispatched from the form
    setTimeout(() => { if (!dialog.open) document.getElementById("dialog-body").innerHTML = ""; });
  });
  document.body.addEventListener("ruledesk:toast", (event) => ruledesk.toast(event.detail.value));
  document.body.addEventListener("htmx:responseError", (event) => {
    const xhr = event.detail.xhr;
    if (xhr.getResponseHeader("HX-Trigger")) return;  // the server already said what happened
    const messages = document.body.dataset;
    ruledesk.toast(xhr.status === 403 ? messages.msgForbidden
                   : messages.msgError.replace("%s", xhr.status), "error");
  });
  document.body.addEventListener("htmx:sendError", () =>
    ruledesk.toast(document.body.dataset.msgOffline, "error"));
})();
