"""`teller`: the one command-line entry point. Every command has --help."""

from __future__ import annotations

import argparse
import json
import logging
import socket
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from clickhouse_connect.driver.exceptions import Error as ClickHouseError

from collector.optout import render_optout_embed
from collector.snippet import render_snippet
from dashboards.export import rows_csv
from dashboards.i18n import LANGUAGES
from ingest.migrations import migrate
from ingest.sites import Site, SiteError
from ingest.store import Store
from ingest.tokens import TrackingToken
from teller.admin import (
    AdminError,
    remove_pidfile,
    running_server,
    write_pidfile,
)
from teller.cli_share import add_share_commands
from teller.cli_support import CliError, settings_for, with_admin
from teller.cli_users import add_user_commands
from teller.config import ConfigError, Settings, config_path_from, load_settings, write_default_config
from teller.durations import parse_days, parse_seconds
from teller.retention import render_text
from teller.runtime import admin_token

log = logging.getLogger("teller")


def configure_logging(level: str) -> None:
    # No handler ever formats a request: Teller logs no client addresses, and uvicorn's access log is off.
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def retention_days(text: str | None, option: str = "--retention") -> int | None:
    if text is None:
        return None
    try:
        return parse_days(text)
    except ValueError as error:
        raise CliError(f"{option} {text!r}: {error}") from None


def print_site(site: Site) -> None:
    identity = "cookieless" if site.cookieless else "cookies when the snippet sets them"
    print(f"{site.site_id:>5}  {site.name}\n       domains: {', '.join(site.domains)}\n"
          f"       timezone: {site.timezone}, raw rows kept {site.retention_days} days, rollups "
          f"{site.rollup_retention_days} days, visits end after "
          f"{site.visit_timeout_minutes} min idle\n"
          f"       addresses: IPv4 last {site.ipv4_mask_bytes} byte(s) zeroed, IPv6 /{site.ipv6_prefix_bits} kept; "
          f"geo from the {'full' if site.geo_full_ip else 'masked'} address; visitors: {identity}\n"
          f"       cookies: _pk_id {site.visitor_cookie_seconds // 86400} d, "
          f"_pk_ses {site.session_cookie_seconds // 60} min, _pk_ref {site.referral_cookie_seconds // 60} min; "
          f"Do Not Track: "
          f"{'respected' if site.respect_dnt else 'not asked'}")
    for label, values in (("excluded IPs", site.excluded_ips), ("excluded user agents", site.excluded_user_agents),
                          ("parameters removed from URLs", site.excluded_params)):
        if values:
            print(f"       {label}: {', '.join(values)}")
    searches = ", ".join(site.search_params) or "off (trackSiteSearch only)"
    categories = f"; categories from {', '.join(site.search_category_params)}" if site.search_category_params else ""
    print(f"       site search from page URL parameters: {searches}{categories}")


def parameter_list(values: list[str]) -> list[str]:
    """Parameter names given as "q,s", repeated, or both; '' alone clears the list."""
    return [name.strip() for value in values for name in value.split(",") if name.strip()]


def setting_changes(args: argparse.Namespace) -> dict[str, Any]:
    """The per-site settings given on the command line (site add and site update share them)."""
    changes: dict[str, Any] = {}
    for name in ("ipv4_mask_bytes", "ipv6_prefix_bits", "geo_full_ip", "cookieless", "visit_timeout_minutes",
                 "respect_dnt"):
        value = getattr(args, name)
        if value is not None:
            changes[name] = value
    for name in ("excluded_ips", "excluded_user_agents", "excluded_params"):
        value = getattr(args, name)
        if value is not None:
            changes[name] = [] if value == [""] else value
    rollup_days = retention_days(args.rollup_retention, "--rollup-retention")
    if rollup_days is not None:
        changes["rollup_retention_days"] = rollup_days
    for name in ("search_params", "search_category_params"):
        value = getattr(args, name)
        if value is not None:
            changes[name] = parameter_list(value)
    for name in ("visitor_cookie_seconds", "session_cookie_seconds", "referral_cookie_seconds"):
        value = getattr(args, name)
        if value is not None:
            try:
                changes[name] = parse_seconds(value)
            except ValueError as error:
                raise CliError(f"--{name.removesuffix('_seconds').replace('_', '-')} {value!r}: {error}") from None
    return changes


def add_setting_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rollup-retention", dest="rollup_retention",
                        help="how long its rollups (daily counts, no visitor ids) are kept, e.g. 25mo; at least "
                             "--retention (default from config, 761 days)")
    parser.add_argument("--ipv4-mask", dest="ipv4_mask_bytes", type=int, choices=(1, 2, 3),
                        help="bytes of IPv4 addresses zeroed (default from config)")
    parser.add_argument("--ipv6-prefix", dest="ipv6_prefix_bits", type=int, metavar="BITS",
                        help="bits of IPv6 addresses kept, 0 to 64 (default from config)")
    parser.add_argument("--geo-full-ip", dest="geo_full_ip", action=argparse.BooleanOptionalAction,
                        help="geolocate with the full address, in memory only (default: the masked one)")
    parser.add_argument("--cookieless", dest="cookieless", action=argparse.BooleanOptionalAction,
                        help="ignore visitor ids from cookies; count visitors by a daily hash")
    parser.add_argument("--visit-timeout", dest="visit_timeout_minutes", type=int, metavar="MINUTES",
                        help="minutes of inactivity that end a visit (default 30)")
    parser.add_argument("--exclude-ip", dest="excluded_ips", action="append", metavar="RANGE",
                        help="drop hits from this range (CIDR or 1.2.3.*); repeat; --exclude-ip '' clears")
    parser.add_argument("--exclude-user-agent", dest="excluded_user_agents", action="append", metavar="TEXT",
                        help="drop hits whose user agent contains TEXT (or matches /regex/); repeat")
    parser.add_argument("--exclude-param", dest="excluded_params", action="append", metavar="NAME",
                        help="remove this query parameter from stored URLs; repeat")
    parser.add_argument("--visitor-cookie", dest="visitor_cookie_seconds", metavar="PERIOD",
                        help="lifetime of the _pk_id cookie, e.g. 14d (default 393d, as matomo.js)")
    parser.add_argument("--session-cookie", dest="session_cookie_seconds", metavar="PERIOD",
                        help="lifetime of the _pk_ses cookie, e.g. 30m (default)")
    parser.add_argument("--referral-cookie", dest="referral_cookie_seconds", metavar="PERIOD",
                        help="lifetime of the _pk_ref cookie, e.g. 30m (default about 6 months)")
    parser.add_argument("--respect-dnt", dest="respect_dnt", action=argparse.BooleanOptionalAction,
                        help="send nothing from browsers with Do Not Track or Global Privacy Control on")
    parser.add_argument("--search-params", dest="search_params", action="append", metavar="NAMES",
                        help="page URL parameters holding a site-search keyword, e.g. q,s (default Matomo's: q, "
                             "query, s, search, searchword, k, keyword, keywords); '' turns detection off")
    parser.add_argument("--search-category-params", dest="search_category_params", action="append",
                        metavar="NAMES", help="page URL parameters holding the search category, e.g. cat "
                                              "(default none); '' clears")


# Commands ---------------------------------------------------------------------------------------------


def cmd_init(args: argparse.Namespace) -> int:
    path = config_path_from(args.config)
    if path.exists() and not args.force:
        raise CliError(f"{path} exists; use --force to replace it (this generates a new secret key)")
    if path.exists():
        path.unlink()
    write_default_config(path, data_dir=args.data_dir)
    settings = load_settings(path)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    print(f"Wrote {path} (data directory: {settings.data_dir}). Next: teller site add, then teller serve.")
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    settings = settings_for(args)
    server = running_server(settings) if settings.is_embedded else None
    if server is not None:
        print(f"The running server (pid {server.pid}) owns the embedded database and migrated it at start.")
        return 0
    store = Store(settings.storage.clickhouse_dsn, settings.storage.database)
    try:
        applied = migrate(store)
    finally:
        store.close()
    print(f"Applied {len(applied)} migration(s)." if applied else "The schema is up to date.")
    return 0


def cmd_site_add(args: argparse.Namespace) -> int:
    settings = settings_for(args)
    days = retention_days(args.retention) or settings.privacy.default_retention_days
    site = with_admin(settings, lambda admin: admin.add_site(args.name, args.domain, args.timezone, days,
                                                             **setting_changes(args)))
    print("Added site:")
    print_site(site)
    print(f"Paste the tracking code from: teller snippet --site {site.site_id}")
    return 0


def cmd_site_list(args: argparse.Namespace) -> int:
    sites: list[Site] = with_admin(settings_for(args), lambda admin: admin.list_sites())
    if args.json:
        print(json.dumps([site.as_json() for site in sites], indent=2))
    elif not sites:
        print("No sites yet: teller site add --name NAME --domain DOMAIN")
    for site in [] if args.json else sites:
        print_site(site)
    return 0


def cmd_site_update(args: argparse.Namespace) -> int:
    settings = settings_for(args)
    changes: dict[str, Any] = {}
    if args.name is not None:
        changes["name"] = args.name
    if args.domain is not None:
        changes["domains"] = args.domain
    if args.timezone is not None:
        changes["timezone"] = args.timezone
    days = retention_days(args.retention)
    if days is not None:
        changes["retention_days"] = days
    changes |= setting_changes(args)
    if not changes:
        raise CliError("nothing to change: give --name, --domain, --timezone, --retention or a setting (--help)")
    site = with_admin(settings, lambda admin: admin.update_site(args.site_id, changes))
    print("Updated site:")
    print_site(site)
    return 0


def cmd_site_delete(args: argparse.Namespace) -> int:
    settings = settings_for(args)
    sites: list[Site] = with_admin(settings, lambda admin: admin.list_sites())
    site = next((item for item in sites if item.site_id == args.site_id), None)
    if site is None:
        raise CliError(f"no site with id {args.site_id}")
    if not args.yes:
        if not sys.stdin.isatty():
            raise CliError("refusing to delete without confirmation; pass --yes to confirm")
        answer = input(f"Delete site {site.site_id} ({site.name}) and ALL its data? Type the site id to confirm: ")
        if answer.strip() != str(site.site_id):
            print("Not deleted.")
            return 1
    with_admin(settings, lambda admin: admin.delete_site(site.site_id))
    print(f"Deleted site {site.site_id} ({site.name}) and its data.")
    return 0


def cmd_snippet(args: argparse.Namespace) -> int:
    settings = settings_for(args)
    sites: list[Site] = with_admin(settings, lambda admin: admin.list_sites())
    if not any(site.site_id == args.site for site in sites):
        raise CliError(f"no site with id {args.site}; see teller site list")
    print(render_snippet(settings.server.public_url, args.site), end="")
    print("\n<!-- Opt-out widget (Dutch or English, following the browser): paste into your privacy policy -->\n"
          + render_optout_embed(settings.server.public_url), end="")
    return 0


def cmd_admin_token(args: argparse.Namespace) -> int:
    # Derived from secret_key (never stored): a hosting panel on this host sends it to /api/admin/.
    print(admin_token(settings_for(args).secret_key))
    return 0


def cmd_token_add(args: argparse.Namespace) -> int:
    secret, token = with_admin(settings_for(args), lambda admin: admin.add_token(args.site, args.label))
    print(f"Tracking token {token.token_id} for site {token.site_id}. It is shown only now:\n\n  {secret}\n\n"
          "Send it as token_auth with requests that set cip, cdt (older than a day) or country/region/city.")
    return 0


def cmd_token_list(args: argparse.Namespace) -> int:
    tokens: list[TrackingToken] = with_admin(settings_for(args), lambda admin: admin.list_tokens(args.site))
    if args.json:
        print(json.dumps([token.as_json() for token in tokens], indent=2))
        return 0
    if not tokens:
        print("No tracking tokens.")
    for token in tokens:
        print(f"{token.token_id}  site {token.site_id}  created {token.created_at:%Y-%m-%d}  {token.label}")
    return 0


def cmd_token_revoke(args: argparse.Namespace) -> int:
    token = with_admin(settings_for(args), lambda admin: admin.revoke_token(args.token_id))
    print(f"Revoked tracking token {token.token_id} of site {token.site_id}.")
    return 0


def banner(settings: Settings, site: Site | None, login: tuple[str, str] | None = None,
           has_users: bool = True) -> str:
    url = settings.server.public_url
    lines = ["", "Teller is running.", f"  Dashboard: {url}" + (f"sites/{site.site_id}?period=30d" if site else "")]
    if login is not None:
        lines.append(f"  Log in as {login[0]} with password {login[1]} (a new one at every teller demo)")
    elif not has_users:
        lines.append("  Nobody can log in yet: teller user add EMAIL --super-admin (in another terminal)")
    if site is not None:
        lines += [f"  Tracking code for site {site.site_id} ({site.name}); paste it into any page on "
                  f"{' or '.join(site.domains)} (a local file works too):", "",
                  render_snippet(url, site.site_id)]
    lines.append("Stop with Ctrl+C.")
    return "\n".join(lines)


def serve(settings: Settings, runtime: Any, site: Site | None, login: tuple[str, str] | None = None) -> int:
    import uvicorn

    from teller.app import build_app
    from teller.users import UserStore

    has_users = bool(UserStore(runtime.store).users())

    def ready() -> None:
        print(banner(settings, site, login, has_users), flush=True)

    # On shutdown the spool is committed and shipped before the process exits.
    app = build_app(runtime, on_ready=ready, on_shutdown=runtime.stop_ingest)
    runtime.start_rollups()
    write_pidfile(settings, f"http://{settings.server.host}:{settings.server.port}".replace("0.0.0.0", "127.0.0.1"))
    try:
        # access_log off and proxy_headers off: Teller masks addresses itself and logs none of them.
        # ws="none": Teller has no WebSocket route, and uvicorn would log a refused one with the full address.
        uvicorn.run(app, host=settings.server.host, port=settings.server.port, access_log=False,
                    proxy_headers=False, server_header=False, ws="none", log_level=settings.log_level)
    finally:
        remove_pidfile(settings)
        runtime.close()
    return 0


def owned_elsewhere(settings: Settings) -> None:
    """Refuse to start when this data is already served, or when the listen address is taken."""
    server = running_server(settings) if settings.is_embedded else None
    if server is not None:
        raise CliError(f"Teller is already running (pid {server.pid}) at {server.url}; stop it first")
    host, port = settings.server.host, settings.server.port
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise CliError(f"cannot listen on {host}:{port} ({error.strerror}); choose another address with [server] "
                           f"listen in {settings.source}, or e.g. TELLER_SERVER_LISTEN=127.0.0.1:8001") from None


def cmd_serve(args: argparse.Namespace) -> int:
    from teller.runtime import Runtime

    settings = settings_for(args)
    configure_logging(settings.log_level)
    owned_elsewhere(settings)
    return serve(settings, Runtime.open(settings), None)


def cmd_demo(args: argparse.Namespace) -> int:
    from teller.demo import demo_login, demo_site, load_demo_traffic, site_has_events
    from teller.runtime import Runtime

    path = config_path_from(args.config)
    if not path.exists():
        write_default_config(path)
        print(f"Created {path} with a new secret key.")
    settings = load_settings(path)
    configure_logging(settings.log_level)
    owned_elsewhere(settings)
    runtime = Runtime.open(settings)
    try:
        site, created = demo_site(runtime)
        if created or not site_has_events(runtime, site):
            print(f"Loading {args.days} days of demo traffic into site {site.site_id} through the ingest path ...",
                  flush=True)
            tracked = load_demo_traffic(runtime, site, days=args.days)
            print(f"Tracked {tracked:,} demo hits.", flush=True)
            runtime.drain()
            built = runtime.rollups.run(runtime.registry.list())
            print(f"Built the rollups of {built} days.", flush=True)
        login = demo_login(runtime, site)
    except BaseException:
        runtime.close()
        raise
    if args.no_serve:
        runtime.close()
        print(banner(settings, site, login).replace("Teller is running.",
                                                    "Demo data is ready; start it with teller serve."))
        return 0
    return serve(settings, runtime, site, login)


def cmd_retention_audit(args: argparse.Namespace) -> int:
    report: dict[str, Any] = with_admin(settings_for(args), lambda admin: admin.retention_audit(args.enforce))
    if args.html:
        from dashboards.web import render_retention_report

        Path(args.html).write_text(render_retention_report(report, args.lang), encoding="utf-8")
        print(f"Wrote the printable report to {args.html}.", file=sys.stderr)
    if args.json:
        print(json.dumps(report, indent=2))
    elif not args.html:
        print(render_text(report), end="")
    # Non-zero when anything is past its policy, so cron or monitoring can alert on the exit status alone.
    return 1 if report["rows_past_policy"] else 0


def subject_request(args: argparse.Namespace) -> dict[str, Any]:
    request: dict[str, Any] = {"site_id": args.site} if args.site is not None else {}
    if args.visitor:
        request["visitor"] = args.visitor
    if args.user_id:
        request["user_id"] = args.user_id
    if args.ip or args.user_agent or args.day:
        if not (args.ip and args.user_agent and args.day and args.site is not None):
            raise CliError("a cookieless visitor is named by --site, --day, --ip and --user-agent together")
        request["cookieless"] = {"day": args.day, "ip": args.ip, "user_agent": args.user_agent}
    return request


def cmd_subject_find(args: argparse.Namespace) -> int:
    result = with_admin(settings_for(args), lambda admin: admin.subject_find(subject_request(args)))
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    if not result["found"]:
        print("No stored row belongs to this visitor.")
    for row in result["found"]:
        print(f"site {row['site_id']:>5}  {row['table']:<9} {row['rows']:>7,} rows  {row['first']} to {row['last']}")
    return 0


def cmd_subject_export(args: argparse.Namespace) -> int:
    result = with_admin(settings_for(args), lambda admin: admin.subject_export(subject_request(args)))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "subject.json").write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
    for table in ("events", "visits"):
        (out / f"{table}.csv").write_text(rows_csv(result[table]), encoding="utf-8")
    print(f"Exported {len(result['events']):,} events and {len(result['visits']):,} visits to {out}/ "
          "(events.csv, visits.csv, subject.json).")
    return 0


def cmd_subject_delete(args: argparse.Namespace) -> int:
    settings = settings_for(args)
    request = subject_request(args)
    found = with_admin(settings, lambda admin: admin.subject_find(request))["found"]
    rows = sum(row["rows"] for row in found)
    if not args.yes:
        if not sys.stdin.isatty():
            raise CliError("refusing to delete without confirmation; pass --yes to confirm")
        if input(f"Delete {rows:,} stored rows of this visitor? Type yes to confirm: ").strip() != "yes":
            print("Not deleted.")
            return 1
    result = with_admin(settings, lambda admin: admin.subject_delete(request))
    deleted = ", ".join(f"{table} {count:,}" for table, count in result["deleted_rows"].items()) or "nothing"
    print(f"Deleted: {deleted}. Recorded in the audit log.")
    return 0


# Parser -----------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="teller", description="Privacy-friendly, Matomo-compatible analytics.")
    parser.add_argument("--config", help="config file (default: $TELLER_CONFIG or ./teller.toml)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    init = commands.add_parser("init", help="write a commented default config with a new secret key")
    init.add_argument("--data-dir", default="teller-data", help="data directory, relative to the config file")
    init.add_argument("--force", action="store_true", help="replace an existing config file")
    init.set_defaults(handler=cmd_init)

    commands.add_parser("serve", help="run the collector and dashboard").set_defaults(handler=cmd_serve)
    commands.add_parser("migrate", help="create or upgrade the ClickHouse schema").set_defaults(handler=cmd_migrate)

    demo = commands.add_parser("demo", help="create a demo site with realistic traffic and serve it")
    demo.add_argument("--days", type=int, default=30, help="days of demo traffic (default 30)")
    demo.add_argument("--no-serve", action="store_true", help="load the demo data and exit")
    demo.set_defaults(handler=cmd_demo)

    snippet = commands.add_parser("snippet", help="print the tracking code to paste into a site's pages")
    snippet.add_argument("--site", type=int, required=True, help="site id")
    snippet.set_defaults(handler=cmd_snippet)
    commands.add_parser("admin-token", help="print the admin API's bearer token (for a hosting panel)") \
        .set_defaults(handler=cmd_admin_token)

    site = commands.add_parser("site", help="manage sites").add_subparsers(dest="site_command", required=True,
                                                                           metavar="ACTION")
    add = site.add_parser("add", help="add a site")
    add.add_argument("--name", required=True)
    add.add_argument("--domain", action="append", required=True,
                     help="a host the site's pages live on; repeat for more; *.example.com for all subdomains")
    add.add_argument("--retention", help="how long its raw data is kept, e.g. 400d, 13mo (default from config)")
    add.add_argument("--timezone", default="Europe/Amsterdam", help="IANA zone for days in reports")
    add_setting_options(add)
    add.set_defaults(handler=cmd_site_add)

    listing = site.add_parser("list", help="list sites")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(handler=cmd_site_list)

    update = site.add_parser("update", help="change a site; a new retention applies to stored rows too")
    update.add_argument("site_id", type=int)
    update.add_argument("--name")
    update.add_argument("--domain", action="append", help="replaces the domain list; repeat for more")
    update.add_argument("--retention")
    update.add_argument("--timezone")
    add_setting_options(update)
    update.set_defaults(handler=cmd_site_update)

    token = commands.add_parser("token", help="manage tracking tokens (for cip, cdt and location overrides)")
    tokens = token.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    token_add = tokens.add_parser("add", help="create a tracking token for a site (shown once)")
    token_add.add_argument("--site", type=int, required=True, help="site id")
    token_add.add_argument("--label", default="", help="what the token is for, e.g. the shop's backend")
    token_add.set_defaults(handler=cmd_token_add)
    token_list = tokens.add_parser("list", help="list tracking tokens (their ids, never the tokens)")
    token_list.add_argument("--site", type=int, help="only this site's")
    token_list.add_argument("--json", action="store_true", help="machine-readable output")
    token_list.set_defaults(handler=cmd_token_list)
    token_revoke = tokens.add_parser("revoke", help="revoke a tracking token by its id (or a unique prefix)")
    token_revoke.add_argument("token_id")
    token_revoke.set_defaults(handler=cmd_token_revoke)

    delete = site.add_parser("delete", help="delete a site and all its data (asks first)")
    delete.add_argument("site_id", type=int)
    delete.add_argument("--yes", action="store_true", help="do not ask")
    delete.set_defaults(handler=cmd_site_delete)
    retention = commands.add_parser("retention", help="prove and enforce retention policies")
    retention_commands = retention.add_subparsers(dest="retention_command", required=True, metavar="ACTION")
    audit = retention_commands.add_parser(
        "audit", help="every table's TTL, rows and bytes; every site's rows per tier against its policy; the "
                      "audit log. Exit status 1 when any row is past its policy")
    audit.add_argument("--enforce", action="store_true", help="apply every policy now and report what was removed")
    audit.add_argument("--json", action="store_true", help="machine-readable output")
    audit.add_argument("--html", metavar="FILE", help="also write a printable HTML report to FILE")
    audit.add_argument("--lang", choices=LANGUAGES, default="en", help="the HTML report's language (default en)")
    audit.set_defaults(handler=cmd_retention_audit)

    subject = commands.add_parser("subject", help="data-subject requests: find, export or delete a visitor's rows")
    subject_commands = subject.add_subparsers(dest="subject_command", required=True, metavar="ACTION")
    for name, handler, help_text in (
            ("find", cmd_subject_find, "where a visitor's rows are"),
            ("export", cmd_subject_export, "write every stored row of a visitor as CSV and JSON"),
            ("delete", cmd_subject_delete, "delete every stored row of a visitor (asks first)")):
        action = subject_commands.add_parser(name, help=help_text)
        action.add_argument("--visitor", help="the _pk_id cookie value (its first 16 hex digits)")
        action.add_argument("--user-id", dest="user_id", help="the user id the site sends (uid / setUserId)")
        action.add_argument("--site", type=int, help="only this site (required for a cookieless visitor)")
        action.add_argument("--day", help="cookieless: the site-local day, e.g. 2026-11-20 (salts last 2 days)")
        action.add_argument("--ip", help="cookieless: the visitor's address that day")
        action.add_argument("--user-agent", dest="user_agent", help="cookieless: the browser's user agent that day")
        if name == "find":
            action.add_argument("--json", action="store_true", help="machine-readable output")
        if name == "export":
            action.add_argument("--out", required=True, help="directory for events.csv, visits.csv, subject.json")
        if name == "delete":
            action.add_argument("--yes", action="store_true", help="do not ask")
        action.set_defaults(handler=handler)

    add_user_commands(commands)
    add_share_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except ConfigError as error:
        print(f"teller: config error: {error}", file=sys.stderr)
    except (CliError, AdminError, SiteError) as error:
        print(f"teller: {error}", file=sys.stderr)
    except ClickHouseError as error:
        print(f"teller: ClickHouse: {str(error).splitlines()[0][:500]}", file=sys.stderr)
    except KeyboardInterrupt:
        return 130
    return 2


if __name__ == "__main__":
    sys.exit(main())

