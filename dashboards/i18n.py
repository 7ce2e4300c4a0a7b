"""The dashboard in Dutch and English: the browser's language decides, `?lang=` overrides it.

Messages are keyed by their English text (as with gettext), so a missing translation shows English rather than
a key. Numbers and dates follow the language: 1.234,5 and 21 nov. 2026 in Dutch, 1,234.5 and 21 Nov 2026 in
English.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from teller.passwords import MAX_LENGTH, MIN_LENGTH

LANGUAGES = ("en", "nl")

DUTCH = {
    "Sites": "Sites", "Retention audit": "Bewaartermijnen", "Log out": "Uitloggen",
    "Today": "Vandaag", "Yesterday": "Gisteren", "Last 7 days": "Afgelopen 7 dagen",
    "Last 30 days": "Afgelopen 30 dagen", "Last 90 days": "Afgelopen 90 dagen", "This month": "Deze maand",
    "This year": "Dit jaar", "From": "Van", "To": "Tot", "Apply": "Toepassen",
    "Unique visitors": "Unieke bezoekers", "Visits": "Bezoeken", "Pageviews": "Paginaweergaven",
    "Views per visit": "Weergaven per bezoek", "Bounce rate": "Bouncepercentage", "Visit duration": "Bezoekduur",
    "Visitors": "Bezoekers", "Actions": "Acties", "Conversion rate": "Conversie", "Revenue": "Omzet",
    "Load time": "Laadtijd", "current visitors": "bezoekers nu", "current visitor": "bezoeker nu",
    "Visitors per day": "Bezoekers per dag", "vs. the previous period": "t.o.v. de vorige periode",
    "Filtered by": "Gefilterd op", "remove": "verwijderen", "Remove all filters": "Alle filters verwijderen",
    "Export CSV": "CSV exporteren", "No data for this range.": "Geen gegevens voor deze periode.",
    "Pages": "Pagina's", "Entry pages": "Instappagina's", "Exit pages": "Uitstappagina's",
    "Channels": "Kanalen", "Referrers": "Verwijzers", "Campaigns": "Campagnes", "Sources": "Bronnen",
    "Countries": "Landen", "Regions": "Regio's", "Cities": "Steden", "Devices": "Apparaten",
    "Browsers": "Browsers", "Operating systems": "Besturingssystemen", "Screen sizes": "Schermformaten",
    "Languages": "Talen", "Events": "Gebeurtenissen", "Goals": "Doelen", "Outlinks": "Uitgaande links",
    "Downloads": "Downloads", "Site search": "Zoeken op de site", "Time of day": "Tijdstip",
    "Dropped hits": "Genegeerde hits",
    "Page titles": "Paginatitels", "Campaign sources": "Campagnebronnen", "Campaign media": "Campagnemedia",
    "Campaign terms": "Campagnetermen", "Campaign content": "Campagne-inhoud", "Browser versions": "Browserversies",
    "OS versions": "Versies van besturingssystemen", "Event actions": "Gebeurtenisacties",
    "Event names": "Gebeurtenisnamen",
    "Requests that reached Teller but were dropped, by reason.":
        "Verzoeken die Teller bereikten maar niet zijn meegeteld, per reden.",
    "Read from the daily rollups: this range reaches back past the days this site keeps visit details, so "
    "visitors are counted once per calendar month and filters are not available.":
        "Gelezen uit de dagtotalen: deze periode gaat verder terug dan de bezoekdetails van deze site bewaard "
        "blijven; bezoekers tellen daarom eenmaal per kalendermaand en filters zijn niet beschikbaar.",
    "Unique visitors: distinct visitor ids in the range":
        "Unieke bezoekers: verschillende bezoekers-id's in de periode",
    "Visits: a visit ends after 30 minutes without activity or at midnight":
        "Bezoeken: een bezoek eindigt na 30 minuten zonder activiteit of om middernacht",
    "Pageviews: every page view, reloads included": "Paginaweergaven: elke weergave, ook herladen",
    "Views per visit: pageviews divided by visits": "Weergaven per bezoek: paginaweergaven gedeeld door bezoeken",
    "Bounce rate: visits with a single action (one page view, no event), in percent":
        "Bouncepercentage: bezoeken met één actie (één paginaweergave, geen gebeurtenis), in procenten",
    "Visit duration: the mean time between a visit's first and last hit; a bounce counts as 0 s":
        "Bezoekduur: gemiddelde tijd tussen de eerste en laatste hit van een bezoek; een bounce telt als 0 s",
    "Unique visitors seen in the last 5 minutes": "Unieke bezoekers in de afgelopen 5 minuten",
    "Click a row to filter the whole dashboard by it.": "Klik op een rij om het hele dashboard daarop te filteren.",
    "IP geolocation by": "IP-geolocatie door",
    "Teller: privacy-friendly analytics; visitor addresses are truncated before anything is stored.":
        "Teller: privacyvriendelijke statistieken; IP-adressen worden ingekort voordat er iets wordt opgeslagen.",
    "Estimated from 1 in %d visitors: this range holds more events than the dashboard reads exactly. Counts are "
    "scaled; rates and averages are not affected.":
        "Geschat op basis van 1 op de %d bezoekers: deze periode bevat meer gebeurtenissen dan het dashboard exact "
        "leest. Aantallen zijn opgeschaald; percentages en gemiddelden niet.",
    "(none)": "(geen)", "direct": "direct", "search": "zoekmachine", "social": "sociale media",
    "website": "website", "campaign": "campagne", "ai": "AI-assistent",
    # login, map
    "Log in": "Inloggen", "Email": "E-mailadres", "Password": "Wachtwoord", "and": "en",
    "No account? Ask whoever runs this Teller:": "Geen account? Vraag het aan wie deze Teller beheert:",
    "Wrong email or password.": "Onjuist e-mailadres of wachtwoord.",
    "Too many failed attempts. Try again in {seconds} seconds.":
        "Te veel mislukte pogingen. Probeer het over {seconds} seconden opnieuw.",
    "Code": "Code", "Code from your authenticator app": "Code uit je authenticator-app",
    "Six-digit code": "Code van zes cijfers", "Start again": "Opnieuw beginnen",
    "Wrong or used code.": "Onjuiste of al gebruikte code.",
    "Your second factor cannot be checked; ask an administrator to set it again.":
        "Je tweede factor kan niet worden gecontroleerd; vraag een beheerder om hem opnieuw in te stellen.",
    "Sorry": "Sorry", "Back to the sites": "Terug naar de sites", "There is no such page.": "Deze pagina bestaat niet.",
    "There is no site with id {site_id}.": "Er is geen site met id {site_id}.",
    "Site": "Site", "Domains": "Domeinen", "Timezone": "Tijdzone", "Raw rows kept": "Ruwe gegevens bewaard",
    "Rollups kept": "Dagtotalen bewaard", "Your role": "Jouw rol", "days": "dagen", "viewer": "kijker",
    "admin": "beheerder", "No sites yet. Add one with": "Nog geen sites. Voeg er een toe met",
    "You have no sites yet. Ask your administrator to grant you one":
        "Je hebt nog geen sites. Vraag je beheerder je er een toe te kennen",
    "Visitors per country": "Bezoekers per land", "visitor": "bezoeker", "visitors": "bezoekers",
    "Share of visitors": "Aandeel bezoekers", "none": "geen",
    # shared links
    "Share": "Delen", "Shared links": "Gedeelde links", "Shared dashboard": "Gedeeld dashboard",
    "Anyone with a shared link sees this site's dashboard, read-only, without logging in; a password keeps out "
    "whoever merely finds the URL. Add ?embed=1 to show it in an iframe on another page.":
        "Iedereen met een gedeelde link ziet het dashboard van deze site, alleen-lezen, zonder in te loggen; een "
        "wachtwoord houdt buiten wie de URL alleen maar vindt. Voeg ?embed=1 toe om het in een iframe op een andere "
        "pagina te tonen.",
    "The new link. Copy it now: it is shown only once.":
        "De nieuwe link. Kopieer hem nu: hij wordt maar één keer getoond.",
    "To embed it:": "Om hem in te sluiten:", "Live links": "Actieve links", "Id": "Id", "Label": "Label",
    "Created": "Aangemaakt", "Revoke": "Intrekken", "yes": "ja", "no": "nee",
    "No shared links yet.": "Nog geen gedeelde links.", "New shared link": "Nieuwe gedeelde link",
    "e.g. the board's intranet page": "bijv. de intranetpagina van het bestuur",
    "Password (optional, at least 10 characters)": "Wachtwoord (optioneel, minstens 10 tekens)",
    "Create link": "Link aanmaken", "Change": "Wijzigen", "Save": "Opslaan",
    "New password (at least 10 characters; empty: keep the current one)":
        "Nieuw wachtwoord (minstens 10 tekens; leeg: het huidige blijft)",
    "No password: anyone with the URL sees the dashboard": "Geen wachtwoord: iedereen met de URL ziet het dashboard",
    "The URL stays the same. After a new password, everyone enters the new one.":
        "De URL blijft dezelfde. Na een nieuw wachtwoord voert iedereen het nieuwe in.",
    # a shared link's password against the rules (teller/passwords.py), shown above its form
    f"a password has at least {MIN_LENGTH} characters": f"een wachtwoord heeft minstens {MIN_LENGTH} tekens",
    f"a password has at most {MAX_LENGTH} characters": f"een wachtwoord heeft hoogstens {MAX_LENGTH} tekens",
    "This shared link is protected by a password.": "Deze gedeelde link is met een wachtwoord beveiligd.",
    "Open the dashboard to enter the password": "Open het dashboard om het wachtwoord in te voeren",
    "Unlock": "Ontgrendelen", "Wrong password.": "Onjuist wachtwoord.",
    "Too many failed attempts.": "Te veel mislukte pogingen.", "Try again in": "Probeer het opnieuw over",
    # site settings
    "Settings": "Instellingen", "Back to the dashboard": "Terug naar het dashboard",
    "Site settings": "Site-instellingen", "Name": "Naam", "Domains, one per line": "Domeinen, één per regel",
    "example.com also counts www.example.com; *.example.com counts every subdomain.":
        "example.com telt ook www.example.com; *.example.com telt elk subdomein.",
    "An IANA zone such as Europe/Amsterdam: days in the reports follow it.":
        "Een IANA-zone zoals Europe/Amsterdam: de dagen in de rapporten volgen die.",
    "Retention": "Bewaartermijn", "Raw visits and events kept (days)": "Bezoeken en gebeurtenissen bewaard (dagen)",
    "Daily rollups kept (days)": "Dagtotalen bewaard (dagen)",
    "A shorter period deletes older stored rows at once.":
        "Een kortere termijn verwijdert oudere opgeslagen rijen meteen.",
    "Visitors and privacy": "Bezoekers en privacy",
    "Cookieless: count visitors by a daily hash, ignore visitor cookies":
        "Zonder cookies: tel bezoekers met een dagelijkse hash, negeer bezoekerscookies",
    "Respect Do Not Track and Global Privacy Control": "Do Not Track en Global Privacy Control respecteren",
    "Visit ends after minutes without activity": "Bezoek eindigt na zoveel minuten zonder activiteit",
    "IPv4 bytes masked before storing": "IPv4-bytes gemaskeerd vóór opslag",
    "IPv6 prefix bits kept": "IPv6-prefixbits bewaard", "Exclusions": "Uitsluitingen",
    "Excluded IP ranges, one per line": "Uitgesloten IP-bereiken, één per regel",
    "Excluded user agents, one per line (text or /regex/)":
        "Uitgesloten user agents, één per regel (tekst of /regex/)",
    "Query parameters removed from stored URLs": "Queryparameters die uit opgeslagen URL's worden verwijderd",
    "Search keyword parameters": "Parameters met de zoekterm",
    "Search category parameters": "Parameters met de zoekcategorie",
    "Save settings": "Instellingen opslaan", "Tracking code": "Trackingcode",
    "Paste this into every page of the site, before </head>.":
        "Plak dit in elke pagina van de site, vóór </head>.",
    "Who has access": "Wie heeft toegang", "User": "Gebruiker", "Role": "Rol",
    "Take access away": "Toegang intrekken",
    "Nobody has a role on this site yet.": "Nog niemand heeft een rol op deze site.",
    "Super-admins of this Teller see every site.": "Superbeheerders van deze Teller zien elke site.",
    "Email of an existing user": "E-mailadres van een bestaande gebruiker", "Grant access": "Toegang geven",
    "A viewer reads the reports; an admin also changes these settings and who has access.":
        "Een kijker leest de rapporten; een beheerder wijzigt ook deze instellingen en wie toegang heeft.",
    "Only the site's admins may see and change its settings.":
        "Alleen de beheerders van de site mogen de instellingen zien en wijzigen.",
    "The settings were saved.": "De instellingen zijn opgeslagen.", "Access was granted.": "Toegang is gegeven.",
    "Access was taken away.": "Toegang is ingetrokken.",
    "enter the email address of an existing user": "vul het e-mailadres van een bestaande gebruiker in",
    "you cannot change or take away your own role; ask another admin of this site":
        "u kunt uw eigen rol niet wijzigen of intrekken; vraag een andere beheerder van deze site",
    "the form sent no action this page knows": "het formulier stuurde geen actie die deze pagina kent",
    "Geolocate with the full IP address": "Geolocatie met het volledige IP-adres",
    "The full address is used in memory only, for the country and city lookup; only the masked one is stored.":
        "Het volledige adres wordt alleen in het geheugen gebruikt, om land en stad op te zoeken; alleen het "
        "gemaskeerde adres wordt opgeslagen.",
    "Cookies": "Cookies", "Visitor cookie _pk_id lifetime (seconds)": "Levensduur bezoekerscookie _pk_id (seconden)",
    "Session cookie _pk_ses lifetime (seconds)": "Levensduur sessiecookie _pk_ses (seconden)",
    "Referral cookie _pk_ref lifetime (seconds)": "Levensduur verwijzerscookie _pk_ref (seconden)",
    "Matomo's default:": "Standaard van Matomo:",
    "60 seconds to 400 days; a day is {day} seconds. Not used when the site is cookieless; the tracker script "
    "may keep the old lifetimes for up to an hour.":
        "60 seconden tot 400 dagen; een dag is {day} seconden. Niet gebruikt als de site zonder cookies telt; het "
        "trackingscript kan de oude levensduur nog tot een uur aanhouden.",
    # shared links' and other errors
    "There is no such shared link. It may have been revoked.":
        "Deze gedeelde link bestaat niet. Misschien is hij ingetrokken.",
    "Only the site's admins may manage its shared links.":
        "Alleen de beheerders van de site mogen de gedeelde links beheren.",
    "This period or filter cannot be shown: {reason}": "Deze periode of dit filter kan niet worden getoond: {reason}",
    "from must not be after to": "from mag niet na to liggen",
    "period=custom needs from and to, e.g. from=2026-01-01&to=2026-01-31":
        "period=custom heeft from en to nodig, bijv. from=2026-01-01&to=2026-01-31",
    "{name}={value!r} is not a date like 2026-01-31": "{name}={value!r} is geen datum zoals 2026-01-31",
    "{name}={value!r} is outside {earliest} to {latest}": "{name}={value!r} ligt buiten {earliest} tot {latest}",
    "a range spans at most {limit} days": "een periode beslaat hoogstens {limit} dagen",
    "period={period!r} is not one of {allowed}": "period={period!r} is niet een van {allowed}",
    "compare={compare!r} is not one of {allowed}": "compare={compare!r} is niet een van {allowed}",
    "filter {text!r} needs an operator: ==, !=, ~ (contains) or !~":
        "filter {text!r} mist een operator: ==, !=, ~ (bevat) of !~",
    "filter {text!r}: {name!r} is not a dimension; one of {allowed}":
        "filter {text!r}: {name!r} is geen dimensie; kies uit {allowed}",
    "{dimension!r} is not a dimension; one of {allowed}": "{dimension!r} is geen dimensie; kies uit {allowed}",
    "a filter value has at most {limit} characters": "een filterwaarde heeft hoogstens {limit} tekens",
    "at most {limit} filters": "hoogstens {limit} filters",
    "interval must be one of {allowed}": "interval moet een van deze zijn: {allowed}",
    "hourly points cover at most {limit} days": "punten per uur beslaan hoogstens {limit} dagen",
    "hourly points need visit details, which this range reaches back past":
        "punten per uur hebben bezoekdetails nodig, en die reiken niet zo ver terug als deze periode",
    "filters need visit details, which this site keeps {days} days; this range reaches back further":
        "filters hebben bezoekdetails nodig, die deze site {days} dagen bewaart; deze periode gaat verder terug",
    "this range reaches back past the {days} days this site keeps visit details; only totals and these "
    "breakdowns without filters are kept longer: {allowed}":
        "deze periode gaat verder terug dan de {days} dagen dat deze site bezoekdetails bewaart; alleen totalen "
        "en deze overzichten zonder filters blijven langer bewaard: {allowed}",
    # Countries panel
    "Unknown": "Onbekend",
    # retention audit
    "Database": "Database", "generated on": "gegenereerd op",
    "Read from ClickHouse itself: table definitions, parts on disk and the stored rows.":
        "Gelezen uit ClickHouse zelf: tabeldefinities, parts op schijf en de opgeslagen rijen.",
    "1 row is older than its site's policy.": "1 rij is ouder dan de bewaartermijn van haar site.",
    "{rows} rows are older than their site's policy.": "{rows} rijen zijn ouder dan de bewaartermijn van hun site.",
    "No row is older than its site's policy.": "Geen enkele rij is ouder dan de bewaartermijn van haar site.",
    "Last enforced on {at} UTC by {actor}.": "Laatst handmatig toegepast op {at} UTC door {actor}.",
    "Not enforced by hand yet; ClickHouse deletes expired rows in hourly TTL merges.":
        "Nog niet handmatig toegepast; ClickHouse verwijdert verlopen rijen elk uur bij het samenvoegen (TTL-merges).",
    "Removed now:": "Nu verwijderd:", "nothing": "niets", "Tier": "Soort", "Policy": "Termijn", "Rows": "Rijen",
    "Oldest": "Oudste", "Newest": "Nieuwste", "Past policy": "Over de termijn", "(deleted site)": "(verwijderde site)",
    "raw rows": "ruwe gegevens", "rollups": "dagtotalen",
    "Raw rows: visits and events (pseudonymous: visitor ids, truncated addresses, URLs). Rollups: daily counts per "
    "page, source, location and device, with no visitor ids or addresses.":
        "Ruwe gegevens: bezoeken en gebeurtenissen (gepseudonimiseerd: bezoekers-id's, ingekorte adressen, URL's). "
        "Dagtotalen: aantallen per dag per pagina, bron, locatie en apparaat, zonder bezoekers-id's of adressen.",
    "Tables": "Tabellen", "Table": "Tabel", "TTL (as ClickHouse reports it)": "TTL (zoals ClickHouse die meldt)",
    "Bytes on disk": "Bytes op schijf", "Administrative changes": "Beheerwijzigingen", "When (UTC)": "Wanneer (UTC)",
    "Who": "Wie", "What": "Wat", "Target": "Doel",
    "No administrative change recorded yet.": "Nog geen beheerwijziging vastgelegd.",
}
_MONTHS = {"en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
           "nl": ("jan.", "feb.", "mrt.", "apr.", "mei", "jun.", "jul.", "aug.", "sep.", "okt.", "nov.", "dec.")}


def choose_language(accept_language: str, override: str = "") -> str:
    """`override` (from ?lang=) when it is a language we have, else the first of the browser's we have."""
    if override in LANGUAGES:
        return override
    ranked = []
    for position, part in enumerate(accept_language.split(",")[:20]):
        tag, _, weight = part.strip().partition(";q=")
        try:
            quality = float(weight) if weight else 1.0
        except ValueError:
            quality = 0.0
        ranked.append((-quality, position, tag.strip().lower()[:2]))
    for _, _, language in sorted(ranked):
        if language in LANGUAGES:
            return language
    return "en"


@dataclass(frozen=True, slots=True)
class Locale:
    language: str

    def text(self, message: str) -> str:
        return DUTCH.get(message, message) if self.language == "nl" else message

    def number(self, value: float, decimals: int = 0) -> str:
        text = f"{value:,.{decimals}f}"
        return text.translate(str.maketrans(",.", ".,")) if self.language == "nl" else text

    def day(self, value: date | str) -> str:
        day = date.fromisoformat(value[:10]) if isinstance(value, str) else value
        return f"{day.day} {_MONTHS[self.language][day.month - 1]} {day.year}"

    def moment(self, value: str) -> str:
        """An ISO date, or date and time, as day() writes it with hh:mm:ss added when there is a time (in the
        zone it was written in: the retention audit's are UTC and say so)."""
        return self.day(value) + (f" {value[11:19]}" if len(value) > 10 else "")

    def functions(self) -> dict[str, Callable[..., str]]:
        """What templates call: t("…"), num(1234), day("2026-11-21"), moment("2026-11-21T14:03:12+00:00")."""
        return {"t": self.text, "num": self.number, "day": self.day, "moment": self.moment}
