// dcc.Graph loads plotly.js the first time a chart is drawn, from window._dashPlotlyJSURL, which the
// Dash renderer sets to the full bundle (4.8 MB, 1-2 s to evaluate on a busy machine). Point it at the
// partial bundle in assets/vendor instead: the same plotly.js API with every trace type that draws
// without WebGL or map tiles, evaluated in a fifth of the time, while the first callbacks run on the
// server. Should a Dash upgrade stop using this variable, charts still load (the full bundle).
(function () {
  var url;
  Object.defineProperty(window, "_dashPlotlyJSURL", {
    configurable: true,
    get: function () { return url; },
    set: function (value) {
      url = String(value).replace(/_dash-component-suites\/plotly\/package_data\/plotly\.min\.js$/,
                                  "assets/vendor/plotly-partial.min.js");
    },
  });
})();
