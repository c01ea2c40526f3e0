// The overview, kept in order while updates stream in, and its filter.
// Order: every tile that arrives (a live update replaces a tile; a new room appends one) is moved to its
// place: offline first, then failing, then rooms with warnings, then the rest, each by building and id,
// as the server orders a fresh page (model.Room.sort_key). The DOM order is the order: what is drawn,
// tabbed through and read out agree. Filter: hide tiles whose id, name and building do not contain the
// typed text, and (checkbox) tiles without problems. Room data is only read from attributes and never
// turned into markup here.
(function () {
  "use strict";

  function before(a, b) {  // does tile a belong before tile b?
    var la = +a.getAttribute("data-level"), lb = +b.getAttribute("data-level");
    if (la !== lb) return la < lb;
    var ba = a.getAttribute("data-building") || "", bb = b.getAttribute("data-building") || "";
    if (ba !== bb) return ba < bb;
    return a.id < b.id;
  }

  function inPlace(tile) {
    var prev = tile.previousElementSibling, next = tile.nextElementSibling;
    return (prev === null || !before(tile, prev)) && (next === null || !before(next, tile));
  }

  function place(tiles, tile) {
    // A page of an earlier run of the dashboard gets every room again as a new tile: keep the newest.
    var same = tiles.querySelectorAll("#" + CSS.escape(tile.id));
    for (var i = 0; i < same.length; i++) {
      if (same[i] !== tile) same[i].remove();
    }
    if (inPlace(tile)) return;  // most updates: the room's level did not change
    // The other tiles are in order: find the place by bisection. Moving keeps the element, and so its
    // live-update listener.
    tiles.removeChild(tile);
    var kids = tiles.children, lo = 0, hi = kids.length;
    while (lo < hi) {
      var mid = (lo + hi) >> 1;
      if (before(kids[mid], tile)) lo = mid + 1; else hi = mid;
    }
    tiles.insertBefore(tile, lo < kids.length ? kids[lo] : null);
  }

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
    var tiles = document.getElementById("tiles");
    if (tiles) {
      // Tiles swapped in by htmx (outerHTML) or appended: each added node is put in its place. Moving
      // one adds it again; place() then finds it in place and leaves it.
      new MutationObserver(function (records) {
        for (var r = 0; r < records.length; r++) {
          var added = records[r].addedNodes;
          for (var n = 0; n < added.length; n++) {
            var node = added[n];
            if (node.nodeType === 1 && node.classList.contains("tile") && node.parentNode === tiles) place(tiles, node);
          }
        }
        apply();
      }).observe(tiles, {childList: true});
    }
    document.body.addEventListener("htmx:afterSettle", apply);
    apply();
  });
})();
