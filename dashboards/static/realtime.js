// Keeps the "current visitors" count live without reloading the page: asks the Stats API every 30 seconds
// (with the page's own session cookie; no third party). Without JavaScript the page still shows the count.
(function () {
  var counter = document.getElementById('current-visitors');
  if (!counter || !window.fetch) return;
  var format = new Intl.NumberFormat(document.documentElement.lang || undefined);
  function refresh() {
    if (document.hidden) return;
    fetch(counter.getAttribute('data-realtime'), {credentials: 'same-origin'})
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (body) { if (body) counter.textContent = format.format(body.current_visitors); })
      .catch(function () {});
  }
  setInterval(refresh, 30000);
})();
