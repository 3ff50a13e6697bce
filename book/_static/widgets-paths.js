// ipywidgets' html-manager (book/_static/vendor/html-manager) finds its own files, the icon fonts,
// next to the module require.js says it came from: point that at the vendored copy, from this page.
requirejs.config({
  paths: {
    "@jupyter-widgets/html-manager/dist":
      document.documentElement.dataset.content_root + "_static/vendor/html-manager",
  },
});
