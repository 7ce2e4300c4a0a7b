/*! Teller tracker core: matomo.js's _paq API, cookies and request format, so a
 site can swap script URLs. ES5, no dependencies. Calls the core lacks come from
 teller-extra.js, loaded only when a page needs them. Teller serves the
 minified build, teller.min.js (see README.md). */
(function (w, d, nav) {
  var q = w._paq;
  if (q && !(q instanceof Array)) return; // loaded twice, or matomo.js owns _paq

  var enc = encodeURIComponent, loc = w.location, cfg = w.tellerConfig || {},
    // Cookie lifetimes, ms; defaults as matomo.js (393 days, 30 min, ~6 months).
    visitorTtl = 33955200e3, sessionTtl = 18e5, referralTtl = 15768e6,
    dims = {}, domains = [],
    // State shared with teller-extra.js, by property names the build keeps
    // (short, for size). The extras set:
    //   h(s): the cookie-name hash (SHA-1) of any domain and path; set once
    //     the extras have run
    //   g(action, isPv, st): the gate, true when a request must not leave now
    //     (Do Not Track, opted out, or held until consent)
    //   a(isPv): runs after each request (heartbeat)
    //   o: no cookies until cookie consent;  n: requests say consent=1
    //   c: secure cookies (setSecureCookie)
    // The core sets s: bit 1 once a request went out, bit 2 once a page view did.
    S = {},
    trackerUrl, siteId, customUrl, docTitle, refUrl, cookiePath, userId, cookieDomain, pvId, perfDone, memId,
    noCookies, // disableCookies or cookieless: no cookies on this page
    held, // _paq items waiting for the extras, in order (an array once they are needed)
    ready, // truthy once the first pass over the initial queue (setup calls) is done
    cur, prev; // URLs of the last two page views: urlref after a route change

  function warn(m) { console.warn('Teller: ' + m); }

  function dec(s) { try { return decodeURIComponent(s); } catch (e) { return s; } }

  // The page's URL, decoded as matomo.js does before encoding it.
  function here() { return dec(loc.href); }

  // ---- cookies: same names, values and attributes as matomo.js ----

  // The cookie-name hash: the first 4 hex digits of sha1(domain + path). The
  // server bakes them in for the site's own domains (tellerConfig.cookieHashes);
  // any other domain or path needs the extras' SHA-1. Undefined until then.
  function hash() {
    var k = (cookieDomain || d.domain.replace(/\.$/, '')) + (cookiePath || '/');
    return (cfg.cookieHashes || {})[k] || S.h && S.h(k);
  }

  // Reads a cookie; with a value, writes it to last `ms`. Names of up to 4
  // letters are this site's _pk_<name>.<site>.<hash> (consent cookies: mtm_*).
  function cookie(name, value, ms) {
    if (name.length < 5) name = '_pk_' + name + '.' + siteId + '.' + hash();
    if (value == null) {
      value = ('; ' + d.cookie).split('; ' + name + '=')[1];
      return value ? dec(value.split(';')[0]) : '';
    }
    d.cookie = name + '=' + enc(value) + ';expires=' +
      new Date(+new Date() + ms).toUTCString() + ';path=' + (cookiePath || '/') +
      (cookieDomain ? ';domain=' + cookieDomain : '') + (S.c ? ';secure' : '') + ';SameSite=Lax';
  }

  // Expired 36 h in the past, as matomo.js deletes.
  function delCookie(name) { if (cookie(name)) cookie(name, '', -1296e5); }

  // This site's tracking cookies.
  function wipe() {
    if (siteId) 'id ses cvar ref'.split(' ').forEach(delCookie);
  }

  // ---- URLs ----

  // A parameter from the query or the hash part, as matomo.js reads campaigns.
  // First match of the names wins, in matomo.js's order.
  function param(url, names) {
    var v = '';
    names.split(' ').some(function (n) {
      n = RegExp('[?&#]' + n + '=([^&#]*)').exec(url);
      return v = n ? dec(n[1]) : '';
    });
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
      x = (x + '').toLowerCase().split('/')[0];
      var s = x.replace(/^\*?\./, '');
      return host == s || s != x && host.slice(-s.length - 1) == '.' + s;
    });
  }

  // ---- requests ----

  // st: [url, urlref, pv_id], kept when the request waits for consent.
  function track(action, isPv, st) {
    if (!trackerUrl || !siteId) return warn('setTrackerUrl/setSiteId?');
    st = st || [customUrl || here(),
      refUrl != null ? refUrl + '' : prev || dec(d.referrer), pvId];
    if (S.g && S.g(action, isPv, st)) return;
    var t = new Date(), now = Math.round(t / 1e3), ua = nav.userAgentData, url = st[0], ref = st[1],
      off = noCookies || S.o, noId = off || !nav.cookieEnabled,
      id = (off ? '' : cookie('id')).split('.'), isNew = !id[0],
      // _pk_ref: [campaign, keyword, ts, referrer url]
      att = ['', '', 0, ''], ru, cn, s = action, saved, nt, f, i, end, v, p, k, base, big, ok;

    // Visitor id: only fields 0 and 1 are read, so ids from matomo.js stay.
    // The in-memory id keeps one id per page where cookies don't stick (file:).
    if (isNew) id = noId ? ['', now] : memId = memId || [newId(), now];
    if (!off) try { saved = JSON.parse(cookie('ref')); if (saved instanceof Array) att = saved; } catch (e) {}

    // New session (no _pk_ses): campaign from this URL; a referrer from
    // another host replaces the stored one. Cookies off: every request.
    if (off || !cookie('ses')) {
      cn = param(url, 'pk_campaign mtm_campaign piwik_campaign matomo_campaign utm_campaign utm_source utm_medium');
      ru = (att[3] || '') + '';
      if (ref && !internal(link(ref).hostname)) ru = ref;
      if (ru || cn) {
        att = [cn, param(url, 'pk_kwd mtm_kwd piwik_kwd matomo_kwd utm_term'), now, purify(ru.slice(0, 1024))];
        if (!off) cookie('ref', JSON.stringify(att), referralTtl);
      }
    }
    if (noCookies) wipe();
    else if (!S.o) {
      if (id[0]) cookie('id', id[0] + '.' + id[1] + '.', id[1] * 1e3 + visitorTtl - t); // fixed expiry
      cookie('ses', '1', sessionTtl); // sliding
    }

    // pf_* once per page: with the page view, and again with a later request
    // if the page had not finished loading (the server joins them by pv_id).
    // Navigation Timing fields, each pf_* name between its start and end field.
    nt = performance.getEntriesByType('navigation')[0];
    if (nt && !perfDone && (isPv || nt.loadEventEnd)) {
      f = ('fetchStart net connectEnd  requestStart srv responseStart tfr responseEnd ' +
        'dm1 domInteractive dm2 domComplete  loadEventStart onl loadEventEnd').split(' ');
      for (i = 1; i < 17; i += 2) {
        end = nt[f[i + 1]];
        v = Math.round(end - nt[f[i - 1]]);
        if (f[i] && end > 0 && v >= 0) s += '&pf_' + f[i] + '=' + v;
      }
      perfDone = nt.loadEventEnd > 0;
    }

    // Empty values are left out, except _id (empty without cookies).
    p = {
      idsite: siteId, rec: 1, r: (Math.random() + '').slice(2, 8),
      h: t.getHours(), m: t.getMinutes(), s: t.getSeconds(),
      url: purify(url), urlref: ref && purify(ref), uid: userId, _id: id[0] || 0, _idn: +isNew, send_image: 0,
      _rcn: att[0], _rck: att[1], _refts: att[2] || '0', _ref: att[3] && purify(att[3])
    };
    for (k in dims) p['dimension' + k] = dims[k];
    p.pv_id = st[2];
    p.consent = S.n;
    // Low-entropy client hints only; the high-entropy ones are not awaited.
    p.uadata = JSON.stringify(ua ? { brands: ua.brands, platform: ua.platform } : {});
    p.cookie = noId ? '0' : 1;
    // CSS pixels: matomo.js dropped devicePixelRatio in 2016 (PR #10296).
    p.res = screen.width + 'x' + screen.height;
    for (k in p) if (p[k] || p[k] === 0) s += '&' + k + '=' + (k == '_id' ? p[k] || '' : enc(p[k]));

    // sendBeacon survives navigation; params in the body only when too long.
    base = trackerUrl + (/\?/.test(trackerUrl) ? '&' : '?');
    big = s.length > 2000;
    try {
      ok = nav.sendBeacon(big ? trackerUrl : base + s,
        new Blob(big ? [s] : [], { type: 'application/x-www-form-urlencoded; charset=UTF-8' }));
    } catch (e) {}
    if (!ok) new Image(1, 1).src = base + s.replace('send_image=0', 'send_image=1');
    S.s |= 1 + !!isPv; // bit 1: a request went out; bit 2: a page view
    if (S.a) S.a(isPv);
  }

  // 16 hex digits from random bytes.
  function newId() {
    return [].map.call(crypto.getRandomValues(new Uint8Array(8)), function (b) {
      return (b | 256).toString(16).slice(1);
    }).join('');
  }

  // Outlinks and downloads. One capturing listener on document also sees
  // links added later; middle clicks arrive as auxclick. Through the queue,
  // so a click waits with the rest while the extras load.
  function onClick(e) {
    var a = e.target.closest && e.target.closest('a,area'), h = a && a.href, type;
    if (typeof h == 'string' && h && !/^javascript:/i.test(h) && (e.type == 'click' || e.button == 1) &&
      (type = /\.(pdf|zip|docx?|xlsx?|pptx?|csv|mp[34]|exe|dmg|gz|7z|rar|txt|od[ts])$/i.test(a.pathname) ? 'download'
        : !internal(a.hostname) && 'link')) apply(['trackLink', h, type]);
  }

  // Not null, undefined or blank.
  function hasText(x) { return /\S/.test([x]); }

  // ---- the API (functions that other calls use are named) ----

  function trackPageView(title) {
    // A new page view id, reused by the later requests of this page view.
    pvId = (Math.random().toString(36) + '00000').slice(2, 8);
    prev = cur;
    cur = customUrl || here();
    track('action_name=' + enc(title || docTitle || d.title), 1);
  }

  function trackLink(url, type) { track(type + '=' + enc(purify(url))); }

  // Also `this` in queued functions. teller-extra.js adds the rest of the API
  // (the calls used on few pages).
  var T = {
    setTrackerUrl: function (v) { trackerUrl = v; },
    setSiteId: function (v) { siteId = v; },
    // Relative custom URLs are resolved; none (the extras' history tracking) clears it.
    setCustomUrl: function (v) { customUrl = v && (/^[a-z][\w+.-]*:/i.test(v) ? v : link(v).href); },
    setDocumentTitle: function (v) { docTitle = v; },
    setReferrerUrl: function (v) { refUrl = v; },
    setCookiePath: function (v) { cookiePath = v; },
    setVisitorCookieTimeout: function (sec) { visitorTtl = sec * 1e3; },
    setSessionCookieTimeout: function (sec) { sessionTtl = sec * 1e3; },
    setReferralCookieTimeout: function (sec) { referralTtl = sec * 1e3; },
    setUserId: function (u) { if (u || u === 0) userId = u; },
    setCookieDomain: function (dom) { cookieDomain = (dom + '').replace(/^\*/, ''); },
    disableCookies: function () { noCookies = 1; wipe(); },
    setDomains: function (list) { domains = [].concat(list); },
    setCustomDimension: function (id, v) {
      if ((id = parseInt(id, 10)) > 0) dims[id] = v == null ? '' : v + '';
    },
    trackPageView: trackPageView,
    trackEvent: function (category, action, name, value) {
      if (!hasText(category) || !hasText(action)) return warn('trackEvent?') // no category or action;
      track('e_c=' + enc(category) + '&e_a=' + enc(action) +
        (name != null ? '&e_n=' + enc(name) : '') +
        (value != null ? '&e_v=' + enc(value) : '') + '&ca=1');
    },
    trackLink: trackLink,
    // The browser adds the same listener only once.
    enableLinkTracking: function () {
      d.addEventListener('click', onClick, true);
      d.addEventListener('auxclick', onClick, true);
    }
  };

  // One _paq entry: ['method', args...] or [function, args...]. Until the
  // extras have run, the core runs only its own calls, and only while it
  // knows the cookie-name hash (the setup calls of the first pass need none:
  // they neither send nor write). Anything else, and all that follows it, waits for the extras.
  // (Object.prototype names run harmlessly.)
  function apply(item) {
    try {
      var f = item[0], m = T[f];
      if (!S.h && !(m && (!ready || !held && hash()))) {
        (held = held || []).push(item);
        return load();
      }
      f = typeof f == 'function' ? f : m || warn(f + '?') // not a call Teller knows;
      if (f) f.apply(T, [].slice.call(item, 1));
    } catch (e) { warn(e); }
  }

  // Loads teller-extra.js from Teller, beside the tracker URL, once the queue
  // is read (it may set the tracker URL last). Synchronously, so the page's
  // load event waits for it. The extras call tellerCore with their installer,
  // which adds their calls to T; then the held items run in order. If the
  // extras fail to load, the held items never run.
  function load() {
    if (ready && held && !w.tellerCore) {
      w.tellerCore = function (install) {
        install(T, S, track, cookie, wipe);
        if (noCookies) wipe(); // disableCookies may have come before the hash was known
        held.forEach(apply); // nothing is held from now on
      };
      d.head.appendChild(d.createElement('script')).src = (trackerUrl + '').replace(/[^/]*$/, 'teller-extra.js');
    }
  }

  // setVisitorCookieTimeout etc.: seconds; the baked-in tellerConfig first.
  'Visitor Session Referral'.split(' ').forEach(function (k) {
    var sec = cfg[k.toLowerCase() + 'CookieTimeout'];
    if (sec) T['set' + k + 'CookieTimeout'](sec);
  });
  if (cfg.cookieless) noCookies = 1;
  // Do Not Track, and matomo.js's opt-out cookie, are the extras' business:
  // nothing is sent until they have run.
  if (cfg.respectDoNotTrack || cookie('mtm_consent_removed')) held = [];

  // Like matomo.js, config calls run first (the snippet pushes setSiteId
  // after trackPageView); per-page values stay in queue order.
  q = q || [];
  // ready: 0 in the first pass (setup calls), then 1, then 2 (the queue is read).
  for (ready = 0; ready < 2; ready++) {
    for (var i = 0, f; i < q.length; i++) {
      f = q[i] && q[i][0];
      if (f && (ready || /^(?!set(CustomUrl|DocumentTitle|ReferrerUrl|CustomDimension)$)(set|enable|disable|require)/.test(f))) {
        apply(q[i]);
        q[i] = 0;
      }
    }
  }
  load();
  // From now on _paq.push() runs calls at once (or holds them, as above).
  w._paq = { push: function () { [].forEach.call(arguments, apply); } };
})(window, document, navigator);
