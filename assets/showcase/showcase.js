// The showcase's filter by province and category: shows the form (hidden without script, where
// the per-province and per-category pages do the same) and hides the members that do not match.
// It reads and writes nothing but this page; no request is made.
"use strict";
(function () {
  var form = document.getElementById("saring");
  var list = document.getElementById("anggota");
  if (!form || !list) { return; }
  var province = document.getElementById("f-province");
  var category = document.getElementById("f-category");
  var count = document.getElementById("f-count");
  var none = document.getElementById("f-none");
  var members = Array.prototype.slice.call(list.querySelectorAll("li.member"));
  var words = form.getAttribute("data-shown-of") || "{shown} / {total}";

  function apply() {
    var p = province.value;
    var c = category.value;
    var shown = 0;
    members.forEach(function (item) {
      var cats = (item.getAttribute("data-categories") || "").split(" ");
      var fits = (!p || item.getAttribute("data-province") === p) && (!c || cats.indexOf(c) >= 0);
      item.hidden = !fits;
      if (fits) { shown += 1; }
    });
    count.textContent = words.replace("{shown}", String(shown)).replace("{total}", String(members.length));
    none.hidden = shown !== 0;
  }

  form.hidden = false;
  form.addEventListener("submit", function (event) { event.preventDefault(); });
  province.addEventListener("change", apply);
  category.addEventListener("change", apply);
  apply();
})();
