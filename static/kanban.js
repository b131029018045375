// The helpdesk kanban (seed 004), on top of htmx:
//
// * drag a card (.kcard[draggable]) onto another column: the card moves at once and its
//   data-move-url gets a POST of the stage and the version the card was drawn with; the answer
//   re-renders both columns out of band. A refusal (someone changed the ticket, a stage of
//   another team…) comes back as an error with a "helpdesk:refused" message: the card snaps
//   back, the message shows as a toast and the board is read again;
// * [data-tempfold] folds a column for now: kept in this browser (localStorage), closes nothing;
// * [data-look] opens a folded stage (closed tickets) to look into it;
// * for users who may change settings the columns carry data-reorder-id and a handle, and
//   static/reorder.js saves a new column order; the ids it posts are spread over the places
//   the team's stages hold in the order of all stages (data-all-stages), so stages of other
//   teams keep theirs.
(function () {
  "use strict";
  if (window.ruledeskKanban) return;
  window.ruledeskKanban = true;

  const board = () => document.getElementById("board");
  const foldKey = (b) => "ruledesk.kanban.fold." + b.dataset.team;

  function foldedIds(b) {
    try {
      const ids = JSON.parse(localStorage.getItem(foldKey(b)) || "[]");
      return Array.isArray(ids) ? ids.map(String) : [];
    } catch (e) {
      return [];
    }
  }

  function applyFolds() {
    const b = board();
    if (!b) return;
    const ids = foldedIds(b);
    b.querySelectorAll(".kcol").forEach((col) => {
      const on = ids.includes(col.dataset.stage);
      col.classList.toggle("is-tempfolded", on);
      const button = col.querySelector("[data-tempfold]");
      if (button) button.setAttribute("aria-pressed", on ? "true" : "false");
    });
  }

  document.addEventListener("click", (event) => {
    const fold = event.target.closest("[data-tempfold]");
    if (fold) {
      const b = board();
      const id = fold.closest(".kcol").dataset.stage;
      const ids = foldedIds(b);
      const next = ids.includes(id) ? ids.filter((x) => x !== id) : ids.concat([id]);
      localStorage.setItem(foldKey(b), JSON.stringify(next));
      applyFolds();
      return;
    }
    const look = event.target.closest("[data-look]");
    if (look) {
      const open = look.closest(".kcol").classList.toggle("is-open");
      look.setAttribute("aria-expanded", open ? "true" : "false");
    }
  });

  // --- moving a card ---------------------------------------------------------------------------
  let drag = null;            // the card being dragged: {card, from, next, stage}
  const moving = new Map();   // card → where it came from, while its POST is under way

  const columnAt = (el) => (el && el.closest ? el.closest("#board .kcol") : null);
  const clearTargets = () =>
    document.querySelectorAll("#board .kcol.drop-target").forEach((c) => c.classList.remove("drop-target"));

  document.addEventListener("dragstart", (event) => {
    const card = event.target.closest && event.target.closest(".kcard[draggable=true]");
    if (!card || moving.has(card)) return;
    drag = { card, from: card.parentElement, next: card.nextElementSibling,
             stage: card.closest(".kcol").dataset.stage };
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", "#" + card.dataset.ticket);
    card.classList.add("is-dragging");
  });

  document.addEventListener("dragend", () => {
    if (drag) drag.card.classList.remove("is-dragging");
    drag = null;
    clearTargets();
  });

  document.addEventListener("dragover", (event) => {
    const col = drag && columnAt(event.target);
    if (!col) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    if (!col.classList.contains("drop-target")) {
      clearTargets();
      if (col.dataset.stage !== drag.stage) col.classList.add("drop-target");
    }
  });

  document.addEventListener("drop", (event) => {
    const col = drag && columnAt(event.target);
    if (!col) return;
    event.preventDefault();
    const from = drag;
    drag = null;
    clearTargets();
    from.card.classList.remove("is-dragging");
    if (col.dataset.stage === from.stage) return;
    col.querySelector(".kcards").prepend(from.card);
    from.card.classList.add("is-moving");
    moving.set(from.card, from);
    htmx.ajax("POST", from.card.dataset.moveUrl, {
      source: from.card, swap: "none",
      values: { stage_id: col.dataset.stage, version: from.card.dataset.version },
    });
  });

  function snapBack(card) {
    const from = moving.get(card);
    if (!from) return;
    moving.delete(card);
    card.classList.remove("is-moving");
    if (from.next && from.next.parentElement === from.from) from.from.insertBefore(card, from.next);
    else from.from.appendChild(card);
    // read the board again: the ticket may have moved elsewhere meanwhile
    const b = board();
    if (b) htmx.ajax("GET", b.dataset.refresh, { target: "#board", swap: "outerHTML" });
  }

  document.addEventListener("htmx:afterRequest", (event) => {
    const card = event.detail.elt;
    if (!moving.has(card)) return;
    if (event.detail.successful) {
      moving.delete(card);
      card.classList.remove("is-moving");
    } else {
      snapBack(card);
    }
  });

  document.body.addEventListener("helpdesk:refused", (event) =>
    window.ruledesk.toast(event.detail.value, "error"));

  // --- column order (static/reorder.js posts; here the ids keep other teams' places) ----------
  document.addEventListener("htmx:configRequest", (event) => {
    const b = board();
    if (!b || event.detail.elt !== b || !b.dataset.allStages) return;
    const mine = event.detail.formData.getAll("ids");
    if (!mine.length) return;
    const ours = new Set(mine);
    const queue = mine.slice();
    const all = b.dataset.allStages.split(",").map((id) => (ours.has(id) ? queue.shift() : id));
    event.detail.formData.delete("ids");
    all.forEach((id) => event.detail.formData.append("ids", id));
  });

  htmx.onLoad(applyFolds);
})();
