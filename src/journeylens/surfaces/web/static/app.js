// Draws every Plotly figure embedded as JSON, after page load and after each HTMX swap.
(function () {
  "use strict";
  function draw(root) {
    if (!window.Plotly) { return; }
    root.querySelectorAll("[data-figure]").forEach(function (el) {
      if (el.dataset.drawn) { return; }
      var source = document.getElementById(el.dataset.figure);
      if (!source) { return; }
      var fig = JSON.parse(source.textContent);
      el.dataset.drawn = "1";
      window.Plotly.newPlot(el, fig.data || [], fig.layout || {}, {
        responsive: true, displaylogo: false,
        toImageButtonOptions: { format: "png", filename: el.dataset.png || "chart", scale: 2 }
      });
    });
  }
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest(".menu-toggle");
    if (toggle) {
      var nav = document.getElementById(toggle.getAttribute("aria-controls"));
      var open = nav.classList.toggle("open");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      return;
    }
    var button = event.target.closest("[data-png-for]");
    if (!button || !window.Plotly) { return; }
    var el = document.getElementById(button.dataset.pngFor);
    window.Plotly.downloadImage(el, { format: "png", filename: el.dataset.png || "chart", scale: 2 });
  });
  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSettle", function (event) { draw(event.target); });
})();
