/*! Teller tracker (first cut): matomo.js's _paq API, cookies and request
 format, so a site can swap script URLs. ES5, no dependencies. */
(function (w, d, nav) {
  'use strict';
  var q = w._paq;
  if (q && !(q instanceof Array)) return; // loaded twice, or matomo.js owns _paq

  var enc = encodeURIComponent, loc = w.location,
    c = {}, // values given to the plain setters: c.SiteId, c.CustomUrl...
    // Cookie lifetimes, ms; defaults as matomo.js (393 days, 30 min, ~6 months).
    ttl = { Visitor: 33955200e3, Session: 18e5, Referral: 15768e6 },
    userId, secure, cookieDomain, noCookies, pvId, perfDone, linksOn, memId,
    // Navigation Timing fields for each pf_* value: name, end, start.
    TIMING = ('net connectEnd fetchStart srv responseStart requestStart ' +
      'tfr responseEnd responseStart dm1 domInteractive responseEnd ' +
      'dm2 domComplete domInteractive onl loadEventEnd loadEventStart').split(' ');

  function warn(m) { if (w.console) console.warn('Teller: ' + m); }

  function dec(s) { try { return decodeURIComponent(s); } catch (e) { return s; } }

  // Synchronous SHA-1 of the UTF-8 bytes: crypto.subtle is async and https-only.
  function sha1(s) {
    s = unescape(enc(s));
    var n = s.length, m = [], W = [], i, j, t, a, b, x, y, e, out = '',
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
    for (i = 0; i < 5; i++) out += ('0000000' + (H[i] >>> 0).toString(16)).slice(-8);
    return out;
  }

  // ---- cookies: same names, values and attributes as matomo.js ----

  function cookieName(base) {
    return '_pk_' + base + '.' + c.SiteId + '.' + sha1((cookieDomain ||
      d.domain.replace(/\.$/, '')) + (c.CookiePath || '/')).slice(0, 4);
  }

  // Reads nothing while cookies are off, unless `any` (to delete them).
  function getCookie(base, any) {
    var v = (any || !noCookies) && ('; ' + d.cookie).split('; ' + cookieName(base) + '=')[1];
    return v ? dec(v.split(';')[0]) : '';
  }

  function setCookie(base, value, ms) {
    d.cookie = cookieName(base) + '=' + enc(value) + ';expires=' +
      new Date(+new Date() + ms).toUTCString() + ';path=' + (c.CookiePath || '/') +
      (cookieDomain ? ';domain=' + cookieDomain : '') + (secure ? ';secure' : '') + ';SameSite=Lax';
  }

  // ---- URLs ----

  // A parameter from the query or the hash part, as matomo.js reads campaigns.
  function param(url, name) {
    var m = new RegExp('[?&#]' + name + '=([^&#]*)').exec(url);
    return m ? dec(m[1]) : '';
  }

  // Drop the parameters matomo.js never reports.
  function purify(u) {
    var h = u.indexOf('#'), s, p;
    h = h < 0 ? '' : (s = u.slice(h), u = u.slice(0, u.length - s.length), s);
    s = u.split('?');
    if (s[1] != null) {
      p = s[1].split('&').filter(function (x) { return !/^(pk_vid|ignore_referr?er)(=|$)/.test(x); }).join('&');
      if (p != s[1]) u = s[0] + (p ? '?' + p : '');
    }
    return u + h;
  }

  // The browser parses URLs for us.
  function link(u) {
    var a = d.createElement('a');
    a.href = u;
    return a;
  }

  // First match wins, in matomo.js's order.
  function first(url, names) {
    names = names.split(' ');
    for (var i = 0, v = ''; i < names.length && !v; i++) v = param(url, names[i]);
    return v;
  }

  // ---- requests ----

  function track(action, isPv) {
    if (!c.TrackerUrl || !c.SiteId) return warn('setTrackerUrl/setSiteId missing');
    var t = new Date(), now = Math.round(t / 1e3), ua = nav.userAgentData,
      // matomo.js decodes location.href before encoding it: same URLs in reports.
      url = c.CustomUrl || dec(loc.href),
      ref = c.ReferrerUrl != null ? String(c.ReferrerUrl) : dec(d.referrer),
      id = getCookie('id').split('.'), isNew = !id[0],
      // _pk_ref: [campaign, keyword, ts, referrer url]
      att = ['', '', 0, ''], ru, cn, s;

    // Visitor id: only fields 0 and 1 are read, so ids from matomo.js stay.
    // The in-memory id keeps one id per page where cookies don't stick (file:).
    if (isNew) id = noCookies || nav.cookieEnabled === false ? ['', now] : memId = memId || [newId(), now];
    try { s = JSON.parse(getCookie('ref')); if (s instanceof Array) att = s; } catch (e) {}

    // New session (no _pk_ses): campaign from this URL; a referrer from
    // another host replaces the stored one. Cookies off: every request.
    if (!getCookie('ses')) {
      cn = first(url, 'pk_campaign mtm_campaign piwik_campaign matomo_campaign utm_campaign utm_source utm_medium');
      ru = String(att[3] || '');
      if (ref && link(ref).hostname != loc.hostname) ru = ref;
      if (ru || cn) {
        att = [cn, first(url, 'pk_kwd mtm_kwd piwik_kwd matomo_kwd utm_term'), now, purify(ru.slice(0, 1024))];
        if (!noCookies) setCookie('ref', JSON.stringify(att), ttl.Referral);
      }
    }
    if (noCookies) wipe();
    else {
      if (id[0]) setCookie('id', id[0] + '.' + id[1] + '.', id[1] * 1e3 + ttl.Visitor - t); // fixed expiry
      setCookie('ses', '1', ttl.Session); // sliding
    }

    s = action + '&idsite=' + enc(c.SiteId) + '&rec=1&r=' + String(Math.random()).slice(2, 8) +
      '&h=' + t.getHours() + '&m=' + t.getMinutes() + '&s=' + t.getSeconds() +
      '&url=' + enc(purify(url)) + (ref ? '&urlref=' + enc(purify(ref)) : '') +
      (userId != null ? '&uid=' + enc(userId) : '') +
      '&_id=' + enc(id[0]) + '&_idn=' + (isNew ? 1 : 0) + '&send_image=0' +
      (att[0] ? '&_rcn=' + enc(att[0]) : '') + (att[1] ? '&_rck=' + enc(att[1]) : '') +
      '&_refts=' + enc(att[2] || 0) + (att[3] ? '&_ref=' + enc(purify(att[3])) : '') +
      timings(isPv) + (pvId ? '&pv_id=' + pvId : '') +
      // Low-entropy client hints only; the high-entropy ones are not awaited.
      '&uadata=' + enc(JSON.stringify(ua ? { brands: ua.brands, platform: ua.platform } : {})) +
      '&cookie=' + (noCookies || !nav.cookieEnabled ? 0 : 1) +
      // CSS pixels: matomo.js dropped devicePixelRatio in 2016 (PR #10296).
      '&res=' + screen.width + 'x' + screen.height;

    // sendBeacon survives navigation; params in the body only when too long.
    var u = c.TrackerUrl + (/\?/.test(c.TrackerUrl) ? '&' : '?'), big = s.length > 2000, ok;
    try {
      ok = nav.sendBeacon(big ? c.TrackerUrl : u + s,
        new Blob(big ? [s] : [], { type: 'application/x-www-form-urlencoded; charset=UTF-8' }));
    } catch (e) {}
    if (!ok) new Image(1, 1).src = u + s.replace('send_image=0', 'send_image=1');
  }

  // 16 hex chars: random bytes, else hashed entropy as matomo.js does.
  function newId() {
    var r = w.crypto && crypto.getRandomValues && crypto.getRandomValues(new Uint8Array(8)), s = '', i;
    if (!r) return sha1(nav.userAgent + nav.platform + new Date().getTime() + Math.random()).slice(0, 16);
    for (i = 0; i < 8; i++) s += (r[i] | 256).toString(16).slice(1);
    return s;
  }

  // Expire this site's cookies (36 h in the past, as matomo.js).
  function wipe() {
    if (c.SiteId) ['id', 'ses', 'cvar', 'ref'].forEach(function (b) { if (getCookie(b, 1)) setCookie(b, '', -1296e5); });
  }

  // pf_* once per page: with the page view, and again with a later request
  // if the page had not finished loading (the server joins them by pv_id).
  function timings(isPv) {
    var p = w.performance, n = p && p.getEntriesByType && p.getEntriesByType('navigation')[0], s = '', i, end, v;
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
    var a = e.target, h, type;
    while (a && !/^(a|area)$/i.test(a.nodeName)) a = a.parentNode;
    h = a && a.href;
    if (typeof h != 'string' || !h || /^javascript:/i.test(h) || e.type == 'auxclick' && e.button != 1) return;
    type = /\.(pdf|zip|docx?|xlsx?|pptx?|csv|mp[34]|exe|dmg|gz|7z|rar|txt|od[ts])$/i.test(a.pathname) ? 'download' :
      a.hostname != loc.hostname ? 'link' : '';
    if (type) track(type + '=' + enc(purify(h)));
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
    trackPageView: function (title) {
      // A new page view id, reused by the later requests of this page view.
      var C = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
      for (pvId = ''; pvId.length < 6;) pvId += C.charAt(Math.random() * 62);
      track('action_name=' + enc(title || c.DocumentTitle || d.title), 1);
    },
    trackEvent: function (category, action, name, value) {
      if (!hasText(category) || !hasText(action)) return warn('trackEvent: category and action required');
      track('e_c=' + enc(category) + '&e_a=' + enc(action) +
        (name != null ? '&e_n=' + enc(name) : '') +
        (value != null ? '&e_v=' + enc(value) : '') + '&ca=1');
    },
    enableLinkTracking: function () {
      if (!linksOn) {
        d.addEventListener('click', onClick, true);
        d.addEventListener('auxclick', onClick, true);
        linksOn = 1;
      }
    }
  };
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
  function isConfig(f) {
    return /^(set|enable|disable)/.test(f) && !/^set(CustomUrl|DocumentTitle|ReferrerUrl)$/.test(f);
  }
  q = q || [];
  [1, 0].forEach(function (pass) {
    for (var i = 0; i < q.length; i++) {
      if (q[i] && (pass ? typeof q[i][0] == 'string' && isConfig(q[i][0]) : 1)) { apply(q[i]); q[i] = 0; }
    }
  });
  // From now on _paq.push() runs calls at once.
  w._paq = { push: function () { for (var i = 0; i < arguments.length; i++) apply(arguments[i]); } };
})(window, document, navigator);
