// A session that ends while a page is open (expired, signed out elsewhere, password changed):
// the gate answers Dash's next request with 401, and this sends the browser to the sign-in form,
// which brings it back here afterwards, instead of a page that silently stops updating.
(function () {
  if (!window.fetch || window.__edSessionWatch) { return; }
  window.__edSessionWatch = true;
  var originalFetch = window.fetch.bind(window);
  window.fetch = function (input, init) {
    return originalFetch(input, init).then(function (response) {
      var url = typeof input === "string" ? input : (input && input.url) || "";
      if (response.status === 401 && url.indexOf("/_dash-") !== -1) {
        var here = window.location.pathname + window.location.search;
        window.location.assign("/sign-in?next=" + encodeURIComponent(here));
      }
      return response;
    });
  };
})();
