// Draws every Plotly figure embedded as JSON, after page load and after each HTMX swap.
(function () {
  "use strict";
  // Annotations (release markers and notes) on every chart whose x axis is dates.
  function annotate(layout) {
    var source = document.getElementById("annotations-data");
    var xaxis = layout.xaxis || {};
    if (!source || xaxis.type !== "date") { return layout; }
    var notes = JSON.parse(source.textContent);
    layout.shapes = (layout.shapes || []).concat(notes.map(function (n) {
      return { type: "line", xref: "x", yref: "paper", x0: n.at, x1: n.at, y0: 0, y1: 1,
               line: { color: "#7c3aed", width: 1.5, dash: "dot" } };
    }));
    layout.annotations = (layout.annotations || []).concat(notes.map(function (n) {
      return { x: n.at, xref: "x", yref: "paper", y: 1, yanchor: "bottom", text: n.title, showarrow: false,
               font: { size: 10, color: "#7c3aed" }, hovertext: n.kind + ": " + n.title };
    }));
    return layout;
  }
  function draw(root) {
    if (!window.Plotly) { return; }
    root.querySelectorAll("[data-figure]").forEach(function (el) {
      if (el.dataset.drawn) { return; }
      var source = document.getElementById(el.dataset.figure);
      if (!source) { return; }
      var fig = JSON.parse(source.textContent);
      el.dataset.drawn = "1";
      el.dataset.annotations = document.getElementById("annotations-data") ? "1" : "0";
      window.Plotly.newPlot(el, fig.data || [], annotate(fig.layout || {}), {
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
