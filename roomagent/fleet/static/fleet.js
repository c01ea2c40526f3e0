// The overview's filter: hide tiles whose id, name and building do not contain the typed text, and
// (checkbox) tiles without problems. It only reads data-search and toggles "hidden"/a class: room data
// is never turned into markup here. Re-applied after every live update, which replaces tiles.
(function () {
  "use strict";
  function apply() {
    var box = document.getElementById("filter");
    var tiles = document.getElementById("tiles");
    if (!box || !tiles) return;
    var q = box.value.trim().toLowerCase();
    var only = document.getElementById("only-problems");
    tiles.classList.toggle("only-problems", !!(only && only.checked));
    var all = tiles.querySelectorAll(".tile");
    for (var i = 0; i < all.length; i++) {
      all[i].hidden = q !== "" && all[i].getAttribute("data-search").indexOf(q) === -1;
    }
  }
  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("filter");
    if (box) box.addEventListener("input", apply);
    var only = document.getElementById("only-problems");
    if (only) only.addEventListener("change", apply);
    document.body.addEventListener("htmx:afterSettle", apply);
    apply();
  });
})();
