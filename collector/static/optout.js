/*
 * Teller opt-out widget for a privacy policy page (see collector/optout.py for the embed code).
 * data-lang: nl, en or auto (navigator.language). data-div-id: the div to fill (default teller-opt-out).
 * With a tracker it pushes optUserOut / forgetUserOptOut; until one has done so it sets mtm_consent_removed itself.
 */
(function () {
  'use strict';

  var COOKIE = 'mtm_consent_removed';
  var THIRTY_YEARS = 946080000000; // ms, matomo.js's lifetime for the consent cookies

  var TEXT = {
    nl: {
      intro: 'Deze website telt bezoeken met Teller: anoniem, zonder advertentiecookies en zonder ' +
        'gegevens te delen met anderen. Wil je niet meegeteld worden, haal dan het vinkje weg. ' +
        'Je keuze wordt in deze browser bewaard in het cookie mtm_consent_removed.',
      label: 'Ja, meet mijn bezoek anoniem',
      counted: 'Je bezoek wordt anoniem meegeteld.',
      optedOut: 'Je bent afgemeld: je bezoeken worden niet meer gemeten.',
      failed: 'Je browser bewaart geen cookies, dus je keuze kon niet worden opgeslagen.'
    },
    en: {
      intro: 'This website counts visits with Teller: anonymously, without advertising cookies and ' +
        'without sharing data with anyone. If you would rather not be counted, untick the box. ' +
        'Your choice is stored in this browser in the cookie mtm_consent_removed.',
      label: 'Yes, count my visit anonymously',
      counted: 'Your visit is counted anonymously.',
      optedOut: 'You have opted out: your visits are no longer counted.',
      failed: 'Your browser does not keep cookies, so your choice could not be saved.'
    }
  };

  var d = document, w = window;
  var script = d.currentScript || (function () {
    var all = d.getElementsByTagName('script');
    for (var i = all.length - 1; i >= 0; i--) {
      if (/optout\.js(\?|#|$)/.test(all[i].src)) return all[i];
    }
    return null;
  })();

  function attr(name, fallback) {
    return (script && script.getAttribute(name)) || fallback;
  }

  function language() {
    var lang = attr('data-lang', 'auto').toLowerCase();
    if (lang === 'auto') lang = (navigator.language || '').toLowerCase().slice(0, 2);
    return lang === 'nl' ? 'nl' : 'en';
  }

  // An mtm_consent_removed cookie with a value means opted out (a deleted one may linger empty).
  function optedOut() {
    var rest = ('; ' + d.cookie).split('; ' + COOKIE + '=')[1];
    return !!rest && rest.split(';')[0] !== '';
  }

  function setCookie(value, ms) {
    d.cookie = COOKIE + '=' + value + ';expires=' + new Date(new Date().getTime() + ms).toUTCString() +
      ';path=/;SameSite=Lax';
  }

  // teller.js and matomo.js replace the _paq array by an object whose push runs the call at once.
  function liveTracker() {
    var paq = w._paq;
    return paq && typeof paq.push === 'function' && !(paq instanceof Array);
  }

  function choose(count) {
    if (liveTracker()) w._paq.push([count ? 'forgetUserOptOut' : 'optUserOut']);
    if (optedOut() !== count) return;
    // No tracker, or teller.js has not loaded its opt-out calls yet (teller-extra.js).
    if (count) {
      setCookie('', -129600000); // empty and 36 h in the past, as matomo.js deletes
    } else {
      setCookie(String(new Date().getTime()), THIRTY_YEARS);
    }
  }

  function render(div) {
    var t = TEXT[language()];
    var id = div.id + '-checkbox';
    div.innerHTML = '';
    div.style.font = 'inherit';

    var intro = d.createElement('p');
    intro.appendChild(d.createTextNode(t.intro));

    var box = d.createElement('input');
    box.type = 'checkbox';
    box.id = id;
    box.checked = !optedOut();

    var label = d.createElement('label');
    label.htmlFor = id;
    label.appendChild(box);
    label.appendChild(d.createTextNode(' ' + t.label));

    var status = d.createElement('p');
    status.setAttribute('role', 'status');
    status.setAttribute('aria-live', 'polite');

    function show() {
      status.textContent = optedOut() ? t.optedOut : t.counted;
    }

    box.onchange = function () {
      choose(box.checked);
      show();
      if (box.checked === optedOut()) { // the browser refused the cookie
        status.textContent = t.failed;
        box.checked = !optedOut();
      }
    };

    div.appendChild(intro);
    div.appendChild(label);
    div.appendChild(status);
    show();
  }

  function start() {
    var div = d.getElementById(attr('data-div-id', 'teller-opt-out'));
    if (!div) return;
    // A function item makes teller.js load those calls now, so a click acts at once.
    if (w._paq) w._paq.push([function () {}]);
    render(div);
  }

  if (d.getElementById(attr('data-div-id', 'teller-opt-out')) || d.readyState !== 'loading') {
    start();
  } else {
    d.addEventListener('DOMContentLoaded', start);
  }
})();
