// Signoff's forms without a round trip: add and remove table lines, and totals that
// follow what is typed. Every form works the same without it: the server adds and
// removes lines and computes the totals when the form is posted.
(function () {
  "use strict";

  function rows(table) {
    return Array.prototype.slice.call(table.querySelectorAll("tr[data-row]"));
  }

  // Lines are numbered 0, 1, 2, ... in their names, as the server reads them.
  function renumber(table) {
    var name = table.id;
    var pattern = new RegExp("(^|\\.)" + name + "\\[\\d+\\]");
    rows(table).forEach(function (row, i) {
      row.querySelectorAll("[name]").forEach(function (el) {
        if (el.name === "_remove_line") {
          el.value = name + ":" + i;
        } else {
          el.name = el.name.replace(pattern, "$1" + name + "[" + i + "]");
          el.id = el.name;
        }
      });
    });
  }

  function clear(row) {
    row.querySelectorAll("input, select, textarea").forEach(function (el) {
      if (el.type === "checkbox") { el.checked = false; } else { el.value = ""; }
      el.classList.remove("bad");
    });
    row.querySelectorAll(".field-error").forEach(function (el) { el.remove(); });
  }

  // A total shown as "sum of this column": the same sum the server computes.
  function totals(form) {
    form.querySelectorAll("[data-live-total]").forEach(function (line) {
      var prefix = line.getAttribute("data-table") + "[";
      var suffix = "]." + line.getAttribute("data-column");
      var sum = 0;
      form.querySelectorAll("[name]").forEach(function (el) {
        var name = el.name;
        var at = name.indexOf(prefix);
        if ((at === 0 || name.charAt(at - 1) === ".") && name.slice(-suffix.length) === suffix) {
          var value = parseFloat(String(el.value).replace(/[,\s]/g, ""));
          if (!isNaN(value)) { sum += value; }
        }
      });
      line.querySelector("output").textContent =
        sum.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
      line.hidden = false;
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[name=_add_line], button[name=_remove_line]");
    if (!button) { return; }
    var adding = button.name === "_add_line";
    var table = document.getElementById(adding ? button.value : button.value.split(":")[0]);
    if (!table) { return; }
    event.preventDefault();
    var form = button.form;
    var all = rows(table);
    if (adding) {
      var max = parseInt(table.getAttribute("data-max-rows") || "200", 10);
      if (all.length >= max) { return; }
      var copy = all[all.length - 1].cloneNode(true);
      clear(copy);
      all[all.length - 1].parentNode.appendChild(copy);
    } else if (all.length > 1) {
      button.closest("tr[data-row]").remove();
    } else {
      clear(all[0]);
    }
    renumber(table);
    totals(form);
  });

  document.addEventListener("input", function (event) {
    if (event.target.form) { totals(event.target.form); }
  });
  document.querySelectorAll("form").forEach(totals);
})();
