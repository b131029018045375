// Drag to reorder any list, declared with data attributes (the stages list, the kanban columns).
//
//   <tbody data-reorder-url="/helpdesk/settings/stages/reorder"   the endpoint (POST)
//          data-reorder-name="ids"            form field of the ids (default "ids")
//          data-reorder-axis="y"              "y" for a list, "x" for columns side by side
//          data-reorder-target="#stages"      where the answer goes (default: nowhere)
//          data-reorder-swap="outerHTML">     how (htmx swap style; default "none")
//     <tr data-reorder-id="3"> … <button type="button" data-reorder-handle>⠿</button> … </tr>
//
// The items are the container's children carrying data-reorder-id; an item is picked up by its
// [data-reorder-handle] (pointer: mouse, pen, touch) or moved with ↑/↓ (←/→ on the x axis) while
// the handle has the focus. When the order changed, the ids of all items are posted in the new
// order through htmx, so the CSRF header of <body>, HX-Trigger toasts and the error toasts of
// app.js work as for any htmx request. If the server refuses, the old order is put back.
(function () {
  "use strict";
  if (window.ruledeskReorder) return;  // included twice on one page: listen once
  window.ruledeskReorder = true;

  const items = (list) => Array.from(list.children).filter((el) => el.hasAttribute("data-reorder-id"));
  const ids = (list) => items(list).map((el) => el.getAttribute("data-reorder-id"));
  const horizontal = (list) => list.getAttribute("data-reorder-axis") === "x";

  function save(list, before) {
    const after = ids(list);
    if (after.join(",") === before.join(",")) return;
    const target = list.getAttribute("data-reorder-target");
    const values = {};
    values[list.getAttribute("data-reorder-name") || "ids"] = after;
    list.classList.add("is-saving");
    const finished = (event) => {
      if (event.detail.elt !== list) return;
      list.removeEventListener("htmx:afterRequest", finished);
      list.classList.remove("is-saving");
      if (!event.detail.successful && list.isConnected) restore(list, before);
      list.dispatchEvent(new CustomEvent("reorder:saved", {
        bubbles: true, detail: { ids: after, successful: event.detail.successful } }));
    };
    list.addEventListener("htmx:afterRequest", finished);
    htmx.ajax("POST", list.getAttribute("data-reorder-url"), {
      source: list, values: values,
      target: target || list, swap: target ? (list.getAttribute("data-reorder-swap") || "outerHTML") : "none",
    });
  }

  function restore(list, order) {
    const byId = new Map(items(list).map((el) => [el.getAttribute("data-reorder-id"), el]));
    for (const id of order) if (byId.has(id)) list.appendChild(byId.get(id));
  }

  // --- pointer ---------------------------------------------------------------------------------
  let drag = null;

  document.addEventListener("pointerdown", (event) => {
    const handle = event.target.closest("[data-reorder-handle]");
    if (!handle || event.button !== 0) return;
    const item = handle.closest("[data-reorder-id]");
    const list = item && item.parentElement;
    if (!list || !list.hasAttribute("data-reorder-url")) return;
    event.preventDefault();
    drag = { list, item, before: ids(list), pointer: event.pointerId };
    handle.setPointerCapture && handle.setPointerCapture(event.pointerId);
    item.classList.add("is-dragging");
    list.classList.add("is-reordering");
  });

  document.addEventListener("pointermove", (event) => {
    if (!drag || event.pointerId !== drag.pointer) return;
    const x = horizontal(drag.list);
    const at = x ? event.clientX : event.clientY;
    // the first other item whose middle lies past the pointer: the dragged item goes before it
    const next = items(drag.list).find((el) => {
      if (el === drag.item) return false;
      const box = el.getBoundingClientRect();
      return at < (x ? box.left + box.width / 2 : box.top + box.height / 2);
    });
    if (next) {
      if (next !== drag.item.nextElementSibling) drag.list.insertBefore(drag.item, next);
    } else if (drag.item !== items(drag.list).pop()) {
      const all = items(drag.list);
      all[all.length - 1].after(drag.item);
    }
  });

  function drop(event) {
    if (!drag || event.pointerId !== drag.pointer) return;
    const { list, item, before } = drag;
    drag = null;
    item.classList.remove("is-dragging");
    list.classList.remove("is-reordering");
    if (event.type === "pointercancel") restore(list, before);
    else save(list, before);
  }
  document.addEventListener("pointerup", drop);
  document.addEventListener("pointercancel", drop);

  // --- keyboard --------------------------------------------------------------------------------
  document.addEventListener("keydown", (event) => {
    const handle = event.target.closest && event.target.closest("[data-reorder-handle]");
    if (!handle) return;
    const item = handle.closest("[data-reorder-id]");
    const list = item && item.parentElement;
    if (!list || !list.hasAttribute("data-reorder-url")) return;
    const x = horizontal(list);
    const back = x ? "ArrowLeft" : "ArrowUp";
    const forward = x ? "ArrowRight" : "ArrowDown";
    if (event.key !== back && event.key !== forward) return;
    event.preventDefault();
    const all = items(list);
    const index = all.indexOf(item);
    const before = ids(list);
    if (event.key === back && index > 0) all[index - 1].before(item);
    else if (event.key === forward && index < all.length - 1) all[index + 1].after(item);
    else return;
    handle.focus();
    // the list is re-rendered by the answer: give the focus back to the same handle afterwards
    const id = item.getAttribute("data-reorder-id");
    const refocus = () => {
      document.removeEventListener("htmx:afterSettle", refocus);
      const again = document.querySelector(`[data-reorder-id="${CSS.escape(id)}"] [data-reorder-handle]`);
      if (again) again.focus();
    };
    document.addEventListener("htmx:afterSettle", refocus);
    save(list, before);
  });
})();
