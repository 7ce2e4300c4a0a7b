/*! Teller tracker extras: what teller.js loads when a page needs more than its
 core. SHA-1 for cookie names the server did not bake in, consent and opt-out,
 Do Not Track / Global Privacy Control, heartbeat, history tracking, and the
 calls few pages use (trackSiteSearch, trackGoal, setSecureCookie). ES5, no dependencies.
 Teller serves the minified build, teller-extra.min.js. */
// teller.js defines tellerCore before it loads this script, and calls the
// installer below with its API object T, the state S it shares (see the list
// in teller.js) and the core functions these calls use. Then it runs the _paq
// items it held back, in order.
tellerCore(function (T, S, track, cookie, wipe) {
  var w = window, d = document, nav = navigator, enc = encodeURIComponent,
    CONSENT = 'mtm_consent', COOKIE_CONSENT = 'mtm_cookie_consent', REMOVED = CONSENT + '_removed',
    pending = [], // requests waiting for consent: [action, isPv, st]
    dnt, // Do Not Track honoured: nothing is sent, no cookie written
    given, // setConsentGiven was called on this page
    out, // opted out: requests are dropped, not queued
    consent, // requests may leave the browser (else they wait in `pending`)
    hb, hbOn, active, href;

  // The page's URL, decoded as matomo.js does before encoding it.
  function here() {
    try { return decodeURIComponent(location.href); } catch (e) { return location.href; }
  }

  // addEventListener for each of the space-separated event names.
  function on(events, fn, opt) {
    events.split(' ').forEach(function (e) { w.addEventListener(e, fn, opt); });
  }

  // The first 4 hex digits of the SHA-1 of the UTF-8 bytes, as in cookie
  // names. Synchronous: crypto.subtle is async and https-only.
  function sha1(s) {
    s = unescape(enc(s)) + '\x80'; // the bytes, then the padding's first byte
    var n = s.length, m = [], W = [], i, j, a, t,
      H = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0];
    function rol(v, k) { return v << k | v >>> 32 - k; }
    for (i = 0; i < n; i++) m[i >> 2] |= s.charCodeAt(i) << 24 - i % 4 * 8;
    m[(n + 7 >> 6) * 16 + 15] = n * 8 - 8; // length in bits ends the last block
    for (i = 0; i < m.length; i += 16) {
      a = H.slice(); // a b c d e
      for (j = 0; j < 80; j++) {
        W[j] = j < 16 ? ~~m[i + j] : rol(W[j - 3] ^ W[j - 8] ^ W[j - 14] ^ W[j - 16], 1);
        // K is floor(2^30 * sqrt(2, 3, 5 or 10)).
        t = rol(a[0], 5) + a[4] + W[j] + (Math.sqrt([2, 3, 5, 10][j / 20 | 0]) * 1073741824 | 0) +
          (j < 20 ? a[3] ^ a[1] & (a[2] ^ a[3]) : j < 40 || j > 59 ? a[1] ^ a[2] ^ a[3] : a[1] & a[2] | a[3] & (a[1] | a[2]));
        a.pop();
        a.unshift(t | 0);
        a[2] = rol(a[2], 30);
      }
      H = H.map(function (h, k) { return h + a[k] | 0; });
    }
    return (H[0] >>> 16 | 65536).toString(16).slice(1);
  }

  // Expired 36 h in the past, as matomo.js deletes.
  function delCookie(name) { if (cookie(name)) cookie(name, '', -1296e5); }

  // Consent cookies hold the time in ms; 30 years unless given hours.
  function remember(name, hours) { cookie(name, +new Date(), hours ? hours * 36e5 : 94608e7); }

  // Heartbeat: once a page view went out, ping=1 at the end of each period
  // in which the visitor did something while the tab was visible.
  function heartbeat() {
    if (hb && S.s & 2 && !hbOn) {
      hbOn = 1;
      on('mousemove keydown scroll touchstart', function () { active = !d.hidden; }, { capture: true, passive: true });
      setInterval(function () { if (active && !d.hidden) track('ping=1'); }, hb);
    }
  }

  // History tracking: a page view when pushState, replaceState or popstate
  // changed the URL; a tick later, so the app may have set the title.
  function route() {
    setTimeout(function () {
      if (href != (href = here())) {
        T.setCustomUrl();
        T.setDocumentTitle();
        T.trackPageView();
      }
    });
  }

  // Do Not Track, and Global Privacy Control (a Teller addition).
  function setDoNotTrack(yes) {
    var v = nav.doNotTrack || w.doNotTrack || nav.msDoNotTrack;
    if (yes && (v == 1 || v == 'yes' || nav.globalPrivacyControl === true)) {
      dnt = 1;
      T.disableCookies();
    }
  }

  // ---- consent, as matomo.js ----

  function requireConsent() {
    S.n = 1;
    if (!given) consent = !cookie(REMOVED) && cookie(CONSENT);
    if (!consent) S.o = 1;
  }

  // Sends the requests that waited, with cookies unless setCookieConsent is false.
  function setConsentGiven(setCookieConsent) {
    given = consent = 1;
    out = 0;
    delCookie(REMOVED);
    if (setCookieConsent !== false) setCookieConsentGiven();
    pending.splice(0).forEach(function (r) { track.apply(0, r); });
  }

  // Cookies again; if a request went out without them, a ping tells the
  // server the visitor id.
  function setCookieConsentGiven() {
    if (S.o && !dnt) {
      S.o = 0;
      if (S.s && consent) track('ping=1');
    }
  }

  function forgetCookieConsentGiven() {
    delCookie(COOKIE_CONSENT);
    S.o = 1;
    wipe();
  }

  function forgetConsentGiven(hours) {
    delCookie(CONSENT);
    remember(REMOVED, hours);
    forgetCookieConsentGiven();
    given = 0;
    out = 1;
    pending = [];
    requireConsent();
  }

  S.h = sha1;
  // The core asks before each request: dropped (Do Not Track, opted out) or
  // held until consent.
  S.g = function (action, isPv, st) {
    return dnt || !consent && (out || pending.push([action, isPv, st]));
  };
  // Any request keeps the visit alive, as a ping would.
  S.a = function (isPv) {
    active = 0;
    if (isPv) heartbeat();
  };

  T.enableHeartBeatTimer = function (sec) {
    hb = Math.max(sec || 15, 5) * 1e3;
    heartbeat();
  };
  // Teller only: page views for single-page apps without setCustomUrl calls.
  T.enableHistoryTracking = function () {
    var h = w.history;
    if (href) return;
    href = here();
    'pushState replaceState'.split(' ').forEach(function (k) {
      var f = h[k];
      h[k] = function () {
        f.apply(h, arguments);
        route();
      };
    });
    on('popstate', route);
  };
  T.trackSiteSearch = function (keyword, category, count) {
    track('search=' + enc(keyword) + (category ? '&search_cat=' + enc(category) : '') +
      (count != null ? '&search_count=' + enc(count) : ''));
  };
  T.trackGoal = function (idGoal, revenue) {
    track('idgoal=' + enc(idGoal) + (revenue ? '&revenue=' + enc(revenue) : ''));
  };
  T.setSecureCookie = function (yes) {
    if (yes && location.protocol != 'https:') return console.warn('Teller: setSecureCookie: not https');
    S.c = yes;
  };
  T.setDoNotTrack = setDoNotTrack;
  T.requireConsent = requireConsent;
  T.setConsentGiven = setConsentGiven;
  T.rememberConsentGiven = function (hours) {
    setConsentGiven();
    remember(CONSENT, hours);
  };
  T.forgetConsentGiven = T.optUserOut = forgetConsentGiven;
  T.setCookieConsentGiven = setCookieConsentGiven;
  T.requireCookieConsent = function () {
    if (!cookie(COOKIE_CONSENT)) forgetCookieConsentGiven();
  };
  T.rememberCookieConsentGiven = function (hours) {
    setCookieConsentGiven();
    remember(COOKIE_CONSENT, hours);
  };
  T.forgetCookieConsentGiven = forgetCookieConsentGiven;
  T.forgetUserOptOut = function () { setConsentGiven(false); };
  T.isUserOptedOut = function () { return !consent; };

  if ((w.tellerConfig || {}).respectDoNotTrack) setDoNotTrack(1);
  // A remembered opt-out holds everything back, as in matomo.js.
  if (!(consent = !(out = cookie(REMOVED)))) S.o = 1;
});
