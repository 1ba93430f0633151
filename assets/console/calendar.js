// The calendar page: drag a post's card onto a free slot of the same account to move it. The
// drop only fills the card's own Move form (the new time) and submits it, so the server checks
// the role, the form token, the version and the budget exactly as when the form is used by
// hand; without JavaScript the form works alone. No third-party code.
"use strict";

(function () {
  const calendar = document.querySelector(".cal[data-can-move]");
  if (!calendar) {
    return;
  }
  let dragged = null;

  calendar.querySelectorAll(".post[data-move]").forEach(function (card) {
    card.setAttribute("draggable", "true");
    card.addEventListener("dragstart", function (event) {
      dragged = card;
      card.classList.add("dragging");
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", card.id);
    });
    card.addEventListener("dragend", function () {
      card.classList.remove("dragging");
      dragged = null;
      calendar.querySelectorAll(".free.drop-ok").forEach(function (slot) {
        slot.classList.remove("drop-ok");
      });
    });
  });

  function accepts(slot) {
    return dragged !== null && dragged.dataset.account === slot.dataset.account;
  }

  calendar.querySelectorAll(".free").forEach(function (slot) {
    slot.addEventListener("dragover", function (event) {
      if (accepts(slot)) {
        event.preventDefault();
        event.dataTransfer.dropEffect = "move";
        slot.classList.add("drop-ok");
      }
    });
    slot.addEventListener("dragleave", function () {
      slot.classList.remove("drop-ok");
    });
    slot.addEventListener("drop", function (event) {
      event.preventDefault();
      if (!accepts(slot)) {
        return;
      }
      const form = document.getElementById(dragged.dataset.move);
      if (!form) {
        return;
      }
      form.elements.namedItem("at").value = slot.dataset.at;
      slot.classList.remove("drop-ok");
      form.requestSubmit();
    });
  });
})();
