/*! Teller tracker: matomo.js's _paq API, cookies and request format, so a
 site can swap script URLs. ES5, no dependencies. Teller serves the
 minified build, teller.min.js (see README.md). */
(function (w, d, nav) {
  var q = w._paq;
  if (q && !(q instanceof Array)) return; // loaded twice, or matomo.js owns _paq

  var enc = encodeURIComponent, loc = w.location,
    c = {}, // values given to the plain setters: c.SiteId, c.CustomUrl...
    // Cookie lifetimes, ms; defaults as matomo.js (393 days, 30 min, ~6 months).
    ttl = { Visitor: 33955200e3, Session: 18e5, Referral: 15768e6 },
    dims = {}, domains = [], pending = [],
    CONSENT = 'mtm_consent', COOKIE_CONSENT = 'mtm_cookie_consent', REMOVED = 'mtm_consent_removed',
    userId, secure, cookieDomain, pvId, perfDone, linksOn, memId, dnt,
    noCookies, // disableCookies, cookieless or Do Not Track: no cookies on this page
    hold, // no cookies until (cookie) consent is given
    need, // requireConsent was called: requests say consent=1
    given, // setConsentGiven was called on this page
    out, // opted out: requests are dropped, not queued
    consent, // requests may leave the browser (else they wait in `pending`)
    sent, pvSent, hb, hbOn, active, href,
    cur, prev, // URLs of the last two page views: urlref after a route change
    // Navigation Timing fields for each pf_* value: name, end, start.
    TIMING = ('net connectEnd fetchStart srv responseStart requestStart ' +
      'tfr responseEnd responseStart dm1 domInteractive responseEnd ' +
      'dm2 domComplete domInteractive onl loadEventEnd loadEventStart').split(' ');

  function warn(m) { console.warn('Teller: ' + m); }

  function dec(s) { try { return decodeURIComponent(s); } catch (e) { return s; } }

  // The first 4 hex digits of the SHA-1 of the UTF-8 bytes, as in cookie
  // names. Synchronous: crypto.subtle is async and https-only.
  function sha1(s) {
    s = unescape(enc(s));
    var n = s.length, m = [], W = [], i, j, t, a, b, x, y, e,
      H = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0];
    function rol(v, k) { return v << k | v >>> 32 - k; }
    for (i = 0; i < n; i++) m[i >> 2] |= s.charCodeAt(i) << 24 - i % 4 * 8;
    m[n >> 2] |= 0x80 << 24 - n % 4 * 8;
    m[(n + 8 >> 6) * 16 + 15] = n * 8; // length in bits ends the last block
    for (i = 0; i < m.length; i += 16) {
      a = H[0]; b = H[1]; x = H[2]; y = H[3]; e = H[4];
      for (j = 0; j < 80; j++) {
        W[j] = j < 16 ? m[i + j] | 0 : rol(W[j - 3] ^ W[j - 8] ^ W[j - 14] ^ W[j - 16], 1);
        t = rol(a, 5) + e + W[j] + [0x5A827999, 0x6ED9EBA1, 0x8F1BBCDC, 0xCA62C1D6][j / 20 | 0] +
          (j < 20 ? b & x | ~b & y : j < 40 || j > 59 ? b ^ x ^ y : b & x | b & y | x & y);
        e = y; y = x; x = rol(b, 30); b = a; a = t | 0;
      }
      H = [H[0] + a | 0, H[1] + b | 0, H[2] + x | 0, H[3] + y | 0, H[4] + e | 0];
    }
    return (H[0] >>> 16 | 65536).toString(16).slice(1);
  }

  // ---- cookies: same names, values and attributes as matomo.js ----

  // _pk_<base>.<site>.<hash>; the mtm_* consent cookies have plain names.
  function pk(base) {
    return '_pk_' + base + '.' + c.SiteId + '.' + sha1((cookieDomain ||
      d.domain.replace(/\.$/, '')) + (c.CookiePath || '/'));
  }

  function getCookie(name) {
    var v = ('; ' + d.cookie).split('; ' + name + '=')[1];
    return v ? dec(v.split(';')[0]) : '';
  }

  function setCookie(name, value, ms) {
    d.cookie = name + '=' + enc(value) + ';expires=' +
      new Date(+new Date() + ms).toUTCString() + ';path=' + (c.CookiePath || '/') +
      (cookieDomain ? ';domain=' + cookieDomain : '') + (secure ? ';secure' : '') + ';SameSite=Lax';
  }

  // Expired 36 h in the past, as matomo.js deletes.
  function delCookie(name) { if (getCookie(name)) setCookie(name, '', -1296e5); }

  // Consent cookies hold the time in ms; 30 years unless given hours.
  function remember(name, hours) { setCookie(name, +new Date(), hours ? hours * 36e5 : 94608e7); }

  // This site's tracking cookies.
  function wipe() {
    if (c.SiteId) ['id', 'ses', 'cvar', 'ref'].forEach(function (b) { delCookie(pk(b)); });
  }

  // ---- URLs ----

  // A parameter from the query or the hash part, as matomo.js reads campaigns.
  // First match of the names wins, in matomo.js's order.
  function param(url, names) {
    for (var i = 0, v = '', m; !v && i < names.length; i++) {
      m = new RegExp('[?&#]' + names[i] + '=([^&#]*)').exec(url);
      v = m ? dec(m[1]) : '';
    }
    return v;
  }

  // Drop the parameters matomo.js never reports.
  function purify(u) {
    return u.replace(/\?[^#]*/, function (s) {
      s = s.slice(1).split('&').filter(function (x) { return !/^(pk_vid|ignore_referr?er)(=|$)/.test(x); }).join('&');
      return s && '?' + s;
    });
  }

  // The browser parses URLs for us.
  function link(u) {
    var a = d.createElement('a');
    a.href = u;
    return a;
  }

  // The page's host, and setDomains entries: 'example.com', '*.example.com'
  // (the domain and its subdomains); a path after the host is ignored.
  function internal(host) {
    return [loc.hostname].concat(domains).some(function (x) {
      x = String(x).toLowerCase().split('/')[0];
      var s = x.replace(/^\*?\./, '');
      return host == s || s != x && host.slice(-s.length - 1) == '.' + s;
    });
  }

  // ---- requests ----

  // st: [url, urlref, pv_id], kept when the request waits for consent.
  function track(action, isPv, st) {
    if (!c.TrackerUrl || !c.SiteId) return warn('setTrackerUrl/setSiteId missing');
    if (dnt) return;
    // matomo.js decodes location.href before encoding it: same URLs in reports.
    st = st || [c.CustomUrl || dec(loc.href),
      c.ReferrerUrl != null ? String(c.ReferrerUrl) : prev || dec(d.referrer), pvId];
    if (!consent) return out || pending.push([action, isPv, st]);
    var t = new Date(), now = Math.round(t / 1e3), ua = nav.userAgentData, url = st[0], ref = st[1],
      off = noCookies || hold,
      id = (off ? '' : getCookie(pk('id'))).split('.'), isNew = !id[0],
      // _pk_ref: [campaign, keyword, ts, referrer url]
      att = ['', '', 0, ''], ru, cn, s, k, p;

    // Visitor id: only fields 0 and 1 are read, so ids from matomo.js stay.
    // The in-memory id keeps one id per page where cookies don't stick (file:).
    if (isNew) id = off || !nav.cookieEnabled ? ['', now] : memId = memId || [newId(), now];
    try { s = JSON.parse(getCookie(pk('ref'))); if (!off && s instanceof Array) att = s; } catch (e) {}

    // New session (no _pk_ses): campaign from this URL; a referrer from
    // another host replaces the stored one. Cookies off: every request.
    if (off || !getCookie(pk('ses'))) {
      cn = param(url, 'pk_campaign mtm_campaign piwik_campaign matomo_campaign utm_campaign utm_source utm_medium'.split(' '));
      ru = String(att[3] || '');
      if (ref && !internal(link(ref).hostname)) ru = ref;
      if (ru || cn) {
        att = [cn, param(url, 'pk_kwd mtm_kwd piwik_kwd matomo_kwd utm_term'.split(' ')), now, purify(ru.slice(0, 1024))];
        if (!off) setCookie(pk('ref'), JSON.stringify(att), ttl.Referral);
      }
    }
    if (noCookies) wipe();
    else if (!hold) {
      if (id[0]) setCookie(pk('id'), id[0] + '.' + id[1] + '.', id[1] * 1e3 + ttl.Visitor - t); // fixed expiry
      setCookie(pk('ses'), '1', ttl.Session); // sliding
    }

    // Empty values are left out, except _id (empty without cookies).
    p = {
      idsite: c.SiteId, rec: 1, r: String(Math.random()).slice(2, 8),
      h: t.getHours(), m: t.getMinutes(), s: t.getSeconds(),
      url: purify(url), urlref: ref && purify(ref), uid: userId, _id: id[0] || 0, _idn: +isNew, send_image: 0,
      _rcn: att[0], _rck: att[1], _refts: att[2] || '0', _ref: att[3] && purify(att[3])
    };
    for (k in dims) p['dimension' + k] = dims[k];
    p.pv_id = st[2];
    p.consent = need;
    // Low-entropy client hints only; the high-entropy ones are not awaited.
    p.uadata = JSON.stringify(ua ? { brands: ua.brands, platform: ua.platform } : {});
    p.cookie = off || !nav.cookieEnabled ? '0' : 1;
    // CSS pixels: matomo.js dropped devicePixelRatio in 2016 (PR #10296).
    p.res = screen.width + 'x' + screen.height;
    s = action + timings(isPv);
    for (k in p) if (p[k] || p[k] === 0) s += '&' + k + '=' + (k == '_id' ? p[k] || '' : enc(p[k]));

    // sendBeacon survives navigation; params in the body only when too long.
    var u = c.TrackerUrl + (/\?/.test(c.TrackerUrl) ? '&' : '?'), big = s.length > 2000, ok;
    try {
      ok = nav.sendBeacon(big ? c.TrackerUrl : u + s,
        new Blob(big ? [s] : [], { type: 'application/x-www-form-urlencoded; charset=UTF-8' }));
    } catch (e) {}
    if (!ok) new Image(1, 1).src = u + s.replace('send_image=0', 'send_image=1');
    sent = 1;
    active = 0; // any request keeps the visit alive, as a ping would
    if (isPv) { pvSent = 1; heartbeat(); }
  }

  // 16 hex digits from random bytes.
  function newId() {
    var r = crypto.getRandomValues(new Uint8Array(8)), s = '', i;
    for (i = 0; i < 8; i++) s += (r[i] | 256).toString(16).slice(1);
    return s;
  }

  // pf_* once per page: with the page view, and again with a later request
  // if the page had not finished loading (the server joins them by pv_id).
  function timings(isPv) {
    var n = performance.getEntriesByType('navigation')[0], s = '', i, end, v;
    if (!n || perfDone || !(isPv || n.loadEventEnd)) return '';
    for (i = 0; i < TIMING.length; i += 3) {
      end = n[TIMING[i + 1]];
      v = Math.round(end - n[TIMING[i + 2]]);
      if (end > 0 && v >= 0) s += '&pf_' + TIMING[i] + '=' + v;
    }
    perfDone = n.loadEventEnd > 0;
    return s;
  }

  // Outlinks and downloads. One capturing listener on document also sees
  // links added later; middle clicks arrive as auxclick.
  function onClick(e) {
    var a = e.target.closest && e.target.closest('a,area'), h = a && a.href;
    if (typeof h == 'string' && h && !/^javascript:/i.test(h) && (e.type == 'click' || e.button == 1)) {
      if (/\.(pdf|zip|docx?|xlsx?|pptx?|csv|mp[34]|exe|dmg|gz|7z|rar|txt|od[ts])$/i.test(a.pathname)) T.trackLink(h, 'download');
      else if (!internal(a.hostname)) T.trackLink(h, 'link');
    }
  }

  // Heartbeat: once a page view went out, ping=1 at the end of each period
  // in which the visitor did something while the tab was visible.
  function heartbeat() {
    if (hb && pvSent && !hbOn) {
      hbOn = 1;
      'mousemove keydown scroll touchstart'.split(' ').forEach(function (ev) {
        w.addEventListener(ev, function () { active = !d.hidden; }, { capture: true, passive: true });
      });
      setInterval(function () { if (active && !d.hidden) track('ping=1'); }, hb);
    }
  }

  // History tracking: a page view when pushState, replaceState or popstate
  // changed the URL; a tick later, so the app may have set the title.
  function route() {
    setTimeout(function () {
      if (href != (href = dec(loc.href))) {
        c.CustomUrl = c.DocumentTitle = 0;
        T.trackPageView();
      }
    }, 0);
  }

  function hasText(x) { return x != null && /\S/.test(x); }

  // ---- the API; also `this` in queued functions ----
  var T = {
    setUserId: function (u) { if (u || u === 0) userId = u; },
    setCookieDomain: function (dom) { cookieDomain = String(dom).replace(/^\*/, ''); },
    disableCookies: function () { noCookies = 1; wipe(); },
    setSecureCookie: function (on) {
      if (on && loc.protocol != 'https:') return warn('secure cookies need https');
      secure = on;
    },
    setDomains: function (list) { domains = [].concat(list); },
    setCustomDimension: function (id, v) {
      if ((id = parseInt(id, 10)) > 0) dims[id] = v == null ? '' : String(v);
    },
    trackPageView: function (title) {
      // A new page view id, reused by the later requests of this page view.
      pvId = (Math.random().toString(36) + '00000').slice(2, 8);
      prev = cur;
      cur = c.CustomUrl || dec(loc.href);
      track('action_name=' + enc(title || c.DocumentTitle || d.title), 1);
    },
    trackEvent: function (category, action, name, value) {
      if (!hasText(category) || !hasText(action)) return warn('trackEvent needs category and action');
      track('e_c=' + enc(category) + '&e_a=' + enc(action) +
        (name != null ? '&e_n=' + enc(name) : '') +
        (value != null ? '&e_v=' + enc(value) : '') + '&ca=1');
    },
    trackSiteSearch: function (keyword, category, count) {
      track('search=' + enc(keyword) + (category ? '&search_cat=' + enc(category) : '') +
        (count != null ? '&search_count=' + enc(count) : ''));
    },
    trackGoal: function (idGoal, revenue) {
      track('idgoal=' + enc(idGoal) + (revenue ? '&revenue=' + enc(revenue) : ''));
    },
    trackLink: function (url, type) { track(type + '=' + enc(purify(url))); },
    enableLinkTracking: function () {
      if (!linksOn) {
        d.addEventListener('click', onClick, true);
        d.addEventListener('auxclick', onClick, true);
        linksOn = 1;
      }
    },
    enableHeartBeatTimer: function (sec) {
      hb = Math.max(sec || 15, 5) * 1e3;
      heartbeat();
    },
    // Teller only: page views for single-page apps without setCustomUrl calls.
    enableHistoryTracking: function () {
      var h = w.history;
      if (href) return;
      href = dec(loc.href);
      ['pushState', 'replaceState'].forEach(function (k) {
        var f = h[k];
        h[k] = function () {
          f.apply(h, arguments);
          route();
        };
      });
      w.addEventListener('popstate', route);
    },
    // Do Not Track, and Global Privacy Control (a Teller addition).
    setDoNotTrack: function (on) {
      var v = nav.doNotTrack || w.doNotTrack || nav.msDoNotTrack;
      if (on && (v == 1 || v == 'yes' || nav.globalPrivacyControl === true)) {
        dnt = noCookies = 1;
        wipe();
      }
    },

    // ---- consent, as matomo.js ----
    requireConsent: function () {
      need = 1;
      if (!given) consent = !getCookie(REMOVED) && !!getCookie(CONSENT);
      if (!consent) hold = 1;
    },
    // Sends the requests that waited, with cookies unless setCookieConsent is false.
    setConsentGiven: function (setCookieConsent) {
      var p = pending;
      given = consent = 1;
      out = 0;
      pending = [];
      delCookie(REMOVED);
      if (setCookieConsent !== false) T.setCookieConsentGiven();
      p.forEach(function (r) { track(r[0], r[1], r[2]); });
    },
    rememberConsentGiven: function (hours) {
      T.setConsentGiven();
      remember(CONSENT, hours);
    },
    forgetConsentGiven: function (hours) {
      delCookie(CONSENT);
      remember(REMOVED, hours);
      T.forgetCookieConsentGiven();
      given = 0;
      out = 1;
      pending = [];
      T.requireConsent();
    },
    // Cookies again; if a request went out without them, a ping tells the
    // server the visitor id.
    setCookieConsentGiven: function () {
      if (hold && !dnt) {
        hold = 0;
        if (sent && consent) track('ping=1');
      }
    },
    requireCookieConsent: function () {
      if (!getCookie(COOKIE_CONSENT)) T.forgetCookieConsentGiven();
    },
    rememberCookieConsentGiven: function (hours) {
      T.setCookieConsentGiven();
      remember(COOKIE_CONSENT, hours);
    },
    forgetCookieConsentGiven: function () {
      delCookie(COOKIE_CONSENT);
      hold = 1;
      wipe();
    },
    forgetUserOptOut: function () { T.setConsentGiven(false); },
    isUserOptedOut: function () { return !consent; }
  };
  T.optUserOut = T.forgetConsentGiven;

  // Plain setters store their value in c; relative custom URLs are resolved.
  'TrackerUrl SiteId CustomUrl DocumentTitle ReferrerUrl CookiePath'.split(' ').forEach(function (k) {
    T['set' + k] = function (v) {
      c[k] = k == 'CustomUrl' && !/^[a-z][\w+.-]*:/i.test(v) ? link(v).href : v;
    };
  });
  // setVisitorCookieTimeout etc.: seconds; the baked-in tellerConfig first.
  var cfg = w.tellerConfig || {};
  ['Visitor', 'Session', 'Referral'].forEach(function (k) {
    T['set' + k + 'CookieTimeout'] = function (sec) { ttl[k] = sec * 1e3; };
    if (cfg[k.toLowerCase() + 'CookieTimeout']) ttl[k] = cfg[k.toLowerCase() + 'CookieTimeout'] * 1e3;
  });
  if (cfg.cookieless) noCookies = 1;
  if (cfg.respectDoNotTrack) T.setDoNotTrack(1);
  // A remembered opt-out holds everything back, as in matomo.js.
  if (!(consent = !(out = getCookie(REMOVED)))) hold = 1;

  // One _paq entry: ['method', args...] or [function, args...].
  function apply(item) {
    try {
      item = [].slice.call(item);
      var f = item.shift();
      if (typeof f == 'function') f.apply(T, item);
      else if ({}.hasOwnProperty.call(T, f)) T[f].apply(T, item);
      else warn('unsupported: ' + f);
    } catch (e) { warn(e); }
  }

  // Like matomo.js, config calls run first (the snippet pushes setSiteId
  // after trackPageView); per-page values stay in queue order.
  q = q || [];
  [1, 0].forEach(function (pass) {
    for (var i = 0, f; i < q.length; i++) {
      f = q[i] && q[i][0];
      if (f && (!pass || /^(set|enable|disable|require)/.test(f) &&
          !/^set(CustomUrl|DocumentTitle|ReferrerUrl|CustomDimension)$/.test(f))) { apply(q[i]); q[i] = 0; }
    }
  });
  // From now on _paq.push() runs calls at once.
  w._paq = { push: function () { [].forEach.call(arguments, apply); } };
})(window, document, navigator);
