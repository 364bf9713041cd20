// Light/dark colour mode: Bootstrap 5.3 reads data-bs-theme on <html>.
window.dash_clientside = Object.assign({}, window.dash_clientside, {
  theme: {
    choose: function (nClicks, current) {
      if (!nClicks) {
        if (current === "light" || current === "dark") { return current; }
        var prefersDark = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
        return prefersDark ? "dark" : "light";
      }
      return current === "dark" ? "light" : "dark";
    },
    apply: function (theme) {
      var mode = theme === "dark" ? "dark" : "light";
      document.documentElement.setAttribute("data-bs-theme", mode);
      return mode === "dark" ? "Light mode" : "Dark mode";
    },
  },
});
