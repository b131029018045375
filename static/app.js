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

  ruledesk.toast = function (text, kind) {
    const box = document.getElementById("toasts");
    const item = document.createElement("div");
    item.className = "toast " + (kind || "ok");
    item.textContent = text;
    box.appendChild(item);
    setTimeout(() => item.remove(), 4000);
  };

  document.addEventListener("htmx:afterSwap", (event) => {
    // whatever lands in the dialog body opens the dialog
    if (event.detail.target.id === "dialog-body" && event.detail.target.innerHTML.trim()) {
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
