"""PostgreSQL: full-text search over ``search_entry.vector`` (GIN), trigrams over
identifiers and words (pg_trgm), ``ts_headline`` snippets."""

from __future__ import annotations

import json
import re
import time
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from django.db.models import Q
from django.utils.safestring import SafeString

from supportdesk.db_router import read_connection
from tickets.models import Ticket

from ..bands import Band, band_entries, bands, predicate, state
from ..directory import Ids, Tickets, newest_of_read
from ..indexing import phone_regions
from ..query import ParsedQuery
from ..snippets import START, STOP, identifier_snippet, marked_html, plain_start
from ..text import SIMPLE, query_configs, searchable_text
from ..words import keep_counts, kept_counts
from . import TextHit

if TYPE_CHECKING:
    from ..loading import Shown

_LETTERS = re.compile(r"[^\W\d_]+")
RARE_FLOOR = 5_000  # entries: below this a word is read through the GIN index
WALK = 10_000  # newest entries walked back for a common word before the GIN index is read
# Share of the matches asked for that the walk's first stretch must hold for walking on
# to pay (at 1M: 44-61 of 100 found, walking on took 37-50 ms and the bands 54-77; 25-26
# found, walking on took 112-177 ms and the bands 25-31).
WALK_ON = 0.4
# Matches the first stretch of the walk is expected to hold (by the vocabulary's counts)
# below which words are read band by band without walking: the walk could neither end
# the search nor walk on, only add its cost to the bands' (see ``_walk_pays``). Above
# WALK_ON's 40 of 100: the estimate per language runs ~1.3 times what the stretch holds
# (1M, 70 phrases of two samples: every phrase whose stretch held 40 or more was
# estimated 92 or more; those estimated under 60 held 4-34).
WALK_PAYS = 60.0
# How much more often than by chance each further word of a query is expected in an entry
# holding its rarest one: words of one language come together (a quarter of the entries
# are Russian: two more Russian words are ~16 times likelier together than by chance).
TOGETHER = 4.0
# The same within the entries of one configuration (language), where the counts per
# configuration already tell words of one language together (see ``_share``).
TOGETHER_IN_ONE = 1.0

# Matches expected in one band, as a multiple of those asked, above which words counted
# rare are read band by band from the newest instead of every band at once.
BANDS_PAY = 2.0
# Matches expected in every entry, as a multiple of those asked, under which words that
# are each common but rare together ("kaki mino bami": a made-up word among common ones)
# are read in every band at once, as a rare word is: band by band, newest first, they
# could not stop before the oldest band, and read it in five statements (each planned,
# a round trip each) instead of one.
RARE_TOGETHER = 1.0

HEADLINE_OPTIONS = (
    f"StartSel={START}, StopSel={STOP}, MaxWords=35, MinWords=15, ShortWord=2, "
    'MaxFragments=2, FragmentDelimiter=" … "'
)


def quote_lexeme(lexeme: str) -> str:
    """Return ``lexeme`` as a tsquery literal matching exactly that lexeme."""
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


def ticket_condition(tickets: Q, column: str) -> tuple[str, list[Any]]:
    """Return `` AND <column> IN (tickets matching the condition)`` and its parameters."""
    if not tickets:
        return "", []
    sql, params = Ticket.objects.filter(tickets).values("pk").query.sql_with_params()
    return f" AND {column} IN ({sql})", list(params)


@lru_cache(maxsize=4096)
def _config_readings(text: str) -> tuple[tuple[str, str], ...]:
    """Return (configuration, tsquery text) for each configuration ``text`` is read in;
    "" where that configuration drops every word (stop words). Kept per process."""
    configs = query_configs(text)
    with read_connection().cursor() as cursor:
        cursor.execute(
            "SELECT websearch_to_tsquery(c::regconfig, %s)::text FROM unnest(%s::text[]) c",
            [text, configs],
        )
        readings = [row[0] for row in cursor.fetchall()]
    return tuple(zip(configs, readings, strict=True))


@lru_cache(maxsize=4096)
def query_readings(query: ParsedQuery) -> tuple[str, ...]:
    """Return the query's readings as tsquery literals: each configuration's reading once
    (the same word stemmed alike in English, Dutch and Spanish would otherwise be matched
    and ranked three times over), then the identifier lexemes. A pure function of the
    query, kept per process."""
    lexemes = tuple(quote_lexeme(lexeme) for lexeme in query.lexemes)
    if query.is_identifier:
        return lexemes
    readings = [t for _, t in _config_readings(query.text)]
    return tuple(f"( {t} )" for t in dict.fromkeys(t for t in readings if t)) + lexemes


def stop_words_only(query: ParsedQuery) -> bool:
    """Whether the query's first language (English, or Russian for Cyrillic) drops all
    its words as stop words ("is", "not", "the we"): messages in it are indexed without
    them, so such a query finds mostly subjects and messages read as written, and
    PostgreSQL's own reading of it in that language finds nothing at all. Only the first
    language: "van" or "die", stop words in Dutch, are words in English."""
    if query.is_identifier:
        return False
    readings = _config_readings(query.text)
    # Some other reading keeps a word: "???" is no word in any language.
    kept = any(t for _, t in readings[1:])
    return bool(readings) and readings[0][0] != SIMPLE and not readings[0][1] and kept


def query_tsquery(query: ParsedQuery) -> str:
    """Return the query as one tsquery literal ("" when nothing is left to look for)."""
    return " | ".join(query_readings(query))


class PostgresBackend:
    def text_hits(
        self, query: ParsedQuery, tickets: Q, *, notes: bool, limit: int
    ) -> list[TextHit]:
        tsquery = query_tsquery(query)
        if not tsquery:
            return []
        where, where_params = ticket_condition(tickets, "s.ticket_id")
        kinds = "" if notes else " AND s.kind <> 'note'"
        filters = f"{kinds}{where}"
        walk = True
        if query.is_identifier:
            way = _identifier_way(tsquery, limit)
        else:
            rare, newest, share, entries = self._rare_and_newest(query, limit)
            way = (rare, 0)
            if stop_words_only(query):
                # Rare or not ("ourselves"), stop words alone are looked for where the
                # page says they were: in the newest entries.
                way = (False, 0)
            elif rare and _bands_pay(share, limit):
                # Rare, but not so rare that the newest band would not hold the matches
                # asked ("gebami не baba": 270 in each band): band by band, newest first,
                # stops there instead of every band's postings and rows (the same
                # entries: the newest ``limit`` matches).
                way, walk = (False, 0), False
            else:
                walk = self._walk_pays(share)
                if not walk and _rare_together(share, entries, limit):
                    way = (True, 0)
            if not way[0]:
                # The walk and the bands read back from this search's own newest entry (a
                # message is found as soon as it commits); the rare way reads every band.
                way = (False, newest_id() if newest is None else newest)
        # Each way returns its entries ranked (ts_rank: weights and frequency, a tenth of
        # ts_rank_cd's cost per entry), computed on the entries kept only, in the
        # statement that found them: no second statement reading them again by id.
        if way[0]:
            # A rare word or identifier through the GIN index ("id + 0" keeps the planner
            # off the backwards scan: it cannot know how rare a word read in four
            # configurations is, and assumes an identifier's matches spread evenly).
            rows = _banded(_united(query), filters, where_params, limit, ranked=tsquery)
        elif not walk:
            # Common words whose every match is rare (a phrase): the newest bands' GIN
            # indexes, newest first, the same entries the walk and then the bands give.
            rows = _banded(
                _united(query), filters, where_params, limit, floor=way[1], ranked=tsquery
            )
        else:
            rows = self._common(query, way[1], filters, where_params, limit)
        return [TextHit(r[0], r[1], r[2], r[3], float(r[4]), r[5]) for r in rows]

    @staticmethod
    def _common(
        query: ParsedQuery, newest: int, filters: str, params: list[Any], limit: int
    ) -> list[Row]:
        """Return the newest entries matching a common word, or one the vocabulary cannot
        count (under four letters, a stop word): walking the entries back from the newest
        until enough match, but no further than WALK of them (such a word may be rare, or
        common only long ago), then the rest through the GIN index. Stop words alone get
        what the walk found, never the index: every old subject holds "is" (209,000
        entries at 1M, 130-200 ms to read and sort, 400 under load), and the newest
        conversations are what a query the english reading ignores can usefully show."""
        tsquery = query_tsquery(query)
        floor = newest - WALK
        # The stretch is read newest first and matched row by row (OFFSET 0 keeps the
        # match out of the scan): given both conditions the planner would rather AND the
        # range with the GIN index's matches of every word, 140,000 entries for "please
        # help renew" at 1M (180 ms).
        sql = (
            f"SELECT {_ranked('s')} FROM (SELECT {_COLUMNS} FROM search_entry s "  # noqa: S608 - placeholders; values are parameters
            "WHERE s.id > %s AND s.id <= %s ORDER BY s.id DESC OFFSET 0) s "
            f"WHERE s.vector @@ %s::tsquery{filters} LIMIT %s"
        )
        with read_connection().cursor() as cursor:
            cursor.execute(sql, [tsquery, floor, newest, tsquery, *params, limit])
            rows = cursor.fetchall()
            if limit * WALK_ON <= len(rows) < limit:
                # Much of what is needed was there: walking on (at that rate, within
                # two more stretches; five at most) is cheaper than the index's every
                # match of common words ("the hosting password": 52,000 entries, 190
                # ms at 1M). With less, the bands are (WALK_ON).
                cursor.execute(
                    sql, [tsquery, floor - 5 * WALK, floor, tsquery, *params, limit - len(rows)]
                )
                rows += cursor.fetchall()
                floor -= 5 * WALK
        if len(rows) < limit and not stop_words_only(query):
            rows += _banded(
                _united(query), filters, params, limit - len(rows), floor=floor, ranked=tsquery
            )
        return rows

    @staticmethod
    def _walk_pays(share: float | None) -> bool:
        """Whether walking the newest WALK entries back can pay for itself: only when it
        may find enough of the matches to end the search (or most of them: then it walks
        on). Words that are each common but rare together ("server bamo since": 6 in
        the newest 10,000 entries at 1M) found ~6 of the 100 asked in 9-19 ms of
        walking, then read the newest band's GIN index for the rest anyway. ``share``
        is the vocabulary's estimate of the entries matching every word (see
        ``_rare_and_newest``); words that come together more often than apart are
        underestimated by it, and cost then a read of the newest band or two instead of
        a walk, which for a phrase is the same order of cost. Unknown: walk."""
        return share is None or WALK * share >= WALK_PAYS

    @staticmethod
    def _rare(query: ParsedQuery, limit: int) -> bool | None:
        """Whether the query's words are rare enough that reading every matching entry
        (GIN) beats walking the entries newest first until enough match: by the typo
        vocabulary's counts (``search_word``). None for identifiers: the planner's own
        statistics of exact lexemes are good."""
        if query.is_identifier:
            return None
        return PostgresBackend._rare_and_newest(query, limit)[0]

    @staticmethod
    def _rare_and_newest(
        query: ParsedQuery, limit: int
    ) -> tuple[bool, int | None, float | None, int]:
        """Return whether the query's words are rare (see ``_rare``), the newest entry's
        id (where a walk back starts; None when the counts were kept: see
        ``newest_id``), the share of entries expected to match every word (None when
        unknown: short words only, stop words only, words joined by "or"; see
        ``_share``) and the entries counted (the newest id when the counts were read)."""
        words = {
            w
            for token in query.text.lower().split()
            if not token.startswith("-")
            for w in _LETTERS.findall(token)
            if len(w) >= 4  # the vocabulary's words have four letters or more
        }
        if not words:
            last = newest_id()
            return False, last, None, last  # short words only: assume common
        # A word's matches, roughly: the vocabulary's documents of every form sharing its
        # stem in each configuration the query is read in (the most of them); the rarest
        # word bounds what all of them match. The same per configuration of the entries
        # (``search_wordconfig``) once its counts have caught up with the overall ones.
        configs = query_configs(query.text)
        key = ("counts", tuple(sorted(words)), tuple(configs))
        newest: int | None = None
        counted = kept_counts(key)
        if counted is None:
            # Per configuration only where words meet: one word's share is its count's.
            extra = _BY_CONFIG if len(words) > 1 else ", NULL, NULL, NULL"
            with read_connection().cursor() as cursor:
                cursor.execute(
                    "WITH w AS (SELECT unnest(%s::text[]) AS word), "  # noqa: S608 - constant parts
                    "c AS (SELECT unnest(%s::regconfig[]) AS config), "
                    "s AS (SELECT w.word, c.config, l.lexeme FROM w CROSS JOIN c "
                    "CROSS JOIN LATERAL unnest(to_tsvector(c.config, w.word)) l) "
                    f"SELECT (SELECT max(id) FROM search_entry), min(n), array_agg(n){extra} "
                    # The forms of a stem by a range of the word index (byte order, as
                    # LIKE's index reads it): a LIKE with a computed pattern reads the
                    # whole table.
                    "FROM (SELECT s.word, max((SELECT coalesce(sum(v.documents), 0) "
                    "FROM search_word v WHERE v.word ~>=~ s.lexeme "
                    "AND v.word ~<~ (s.lexeme || chr(1114111)))) AS n "
                    "FROM s GROUP BY s.word) x",
                    [sorted(words), configs],
                )
                counted = cursor.fetchone()
            newest = counted[0] or 0
            keep_counts(key, counted)
        entries_read, fewest, counts, by_config, totals, kept = counted
        entries = entries_read or 0
        if fewest is None:
            return False, newest, None, entries  # stop words only: common
        share: float | None = None
        if not any("|" in reading for reading in query_readings(query)):  # not "a or b"
            share = _share(counts, entries, by_config, totals, (set(configs), set(kept or ())))
        # Walking back finds LIMIT matches after ~LIMIT * entries / documents rows; reading
        # them all costs ~documents rows: equal at documents = sqrt(LIMIT * entries).
        rare = fewest < max(RARE_FLOOR, (limit * entries) ** 0.5)
        return rare, newest, share, entries

    def partial_ticket_ids(
        self, fragment: str, tickets: Q, *, notes: bool, limit: int
    ) -> list[int]:
        pattern = "%" + fragment.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        where, where_params = ticket_condition(tickets, "s.ticket_id")
        kinds = "" if notes else " AND s.kind <> 'note'"
        sql, params = _directory_partial(pattern, tickets, limit)
        with read_connection().cursor() as cursor:
            if len(fragment) >= 5:  # shorter fragments match too much text to be worth it
                # The text's identifiers and the directory's in one statement (a round
                # trip less), each part's order restored by its own keys below.
                sql = (
                    "SELECT 0, x.ticket_id, x.id, NULL::timestamptz FROM (SELECT s.ticket_id, "  # noqa: S608 - placeholders; values are parameters
                    f"s.id FROM search_entry s WHERE s.idents <> '' AND s.idents LIKE %s{kinds}"
                    f"{where} ORDER BY s.id DESC LIMIT %s) x UNION ALL "
                    f"SELECT 1, d.id, NULL::bigint, d.updated_at FROM ({sql}) d"
                )
                params = [pattern, *where_params, limit * 3, *params]
            else:
                sql = f"SELECT 1, d.id, NULL::bigint, d.updated_at FROM ({sql}) d"  # noqa: S608 - our statement
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        written = sorted((r for r in rows if r[0] == 0), key=lambda r: r[2], reverse=True)
        listed = sorted((r for r in rows if r[0] == 1), key=lambda r: (r[3], r[1]), reverse=True)
        ids = [r[1] for r in written] + [r[1] for r in listed]
        return list(dict.fromkeys(ids))[:limit]

    def snippets(
        self, hits: list[TextHit], query: ParsedQuery, shown: Shown | None = None
    ) -> dict[int, SafeString]:
        texts = _entry_texts(hits, shown)
        out: dict[int, SafeString] = {}
        headline: list[tuple[int, str, str]] = []
        regions = phone_regions()
        for hit in hits:
            config, text = texts.get(hit.entry_id, ("simple", ""))
            if not text:
                continue
            if query.is_identifier and (found := identifier_snippet(text, query, regions)):
                out[hit.entry_id] = marked_html(found)
            else:
                headline.append((hit.entry_id, config, text))
        tsquery = query_tsquery(query) if headline else ""
        if tsquery:
            values = ", ".join(["(%s::bigint, %s::regconfig, %s::text)"] * len(headline))
            params = [x for row in headline for x in row]
            sql = (
                "SELECT v.id, ts_headline(v.cfg, v.body, %s::tsquery, %s) "  # noqa: S608 - placeholders; values are parameters
                f"FROM (VALUES {values}) AS v(id, cfg, body)"
            )
            with read_connection().cursor() as cursor:
                cursor.execute(sql, [tsquery, HEADLINE_OPTIONS, *params])
                for entry_id, marked in cursor.fetchall():
                    out[entry_id] = marked_html(marked if START in marked else plain_start(marked))
        return out

    def recent_only(self, query: ParsedQuery) -> bool:
        return stop_words_only(query)

    def corrected(self, text: str) -> str:
        words = text.split()
        changed = False
        with read_connection().cursor() as cursor:
            for index, word in enumerate(words):
                plain = word.lower()
                if len(plain) < 4 or not plain.isalpha():
                    continue
                cursor.execute("SELECT 1 FROM search_word WHERE word = %s", [plain])
                if cursor.fetchone():
                    continue
                cursor.execute(
                    "SELECT word FROM search_word WHERE word %% %s "
                    "ORDER BY similarity(word, %s) DESC, documents DESC LIMIT 1",
                    [plain, plain],
                )
                row = cursor.fetchone()
                if row:
                    words[index], changed = row[0], True
        return " ".join(words) if changed else ""


def newest_id() -> int:
    """Return the newest entry's id (where a walk back starts)."""
    with read_connection().cursor() as cursor:
        cursor.execute("SELECT max(id) FROM search_entry")
        return cursor.fetchone()[0] or 0


def _identifier_way(tsquery: str, limit: int) -> tuple[bool, int]:
    """Return whether an identifier's lexemes are rare enough to read every match through
    the GIN index (see ``PostgresBackend._rare``), and the newest entry's id. The
    planner's estimate of the matches is good for exact lexemes (its statistics list the
    frequent ones: a mail provider's domain), but given ``ORDER BY id DESC LIMIT`` it
    assumes the matches are spread evenly and walks back from the newest entry: through
    all 6,000,000 entries (6 s) for a phone number nobody wrote. The estimate is kept per
    process as long as the planner's count of entries (``_entries``): it moves only when
    ANALYZE runs, and planning the EXPLAIN was a statement of every identifier search."""
    with read_connection().cursor() as cursor:
        key = ("planned", tsquery)
        estimate = kept_counts(key)
        if estimate is None:
            cursor.execute(
                "EXPLAIN (FORMAT JSON) SELECT 1 FROM search_entry s WHERE s.vector @@ %s::tsquery",
                [tsquery],
            )
            plan = cursor.fetchone()[0]
            if isinstance(plan, str):
                plan = json.loads(plan)
            estimate = plan[0]["Plan"]["Plan Rows"]
            keep_counts(key, estimate, ENTRIES_KEPT)
        rare = estimate < max(RARE_FLOOR, (limit * _entries(cursor)) ** 0.5)
        if rare:
            return True, 0  # the GIN index: no walk, no need of the newest id
        cursor.execute("SELECT max(id) FROM search_entry")
        return False, cursor.fetchone()[0] or 0


# The estimate's counts per configuration (``_share``), once they have caught up with the
# overall ones (the watermarks' rows 2 and 1): [word, configuration, documents] of every
# form sharing each word's stem as that configuration (or simple) reads the word, the
# entries of each configuration, and which words each configuration the query is read in
# keeps ("configuration:word").
_CAUGHT_UP = (
    "(SELECT max(last_entry_id) FILTER (WHERE id = 2) >= max(last_entry_id) FILTER (WHERE id = 1) "
    "FROM search_wordswatermark)"
)
_BY_CONFIG = (
    ", (SELECT json_agg(json_build_array(k.word, k.config, k.n)) FROM ("  # noqa: S608 - constants
    "SELECT x.word, x.config, max(x.n) AS n FROM (SELECT s.word, s.lexeme, v.config, "
    "sum(v.documents) AS n FROM (SELECT word, lexeme, array_agg(config::text) AS configs "
    "FROM s GROUP BY word, lexeme) s JOIN search_wordconfig v "
    "ON v.word ~>=~ s.lexeme AND v.word ~<~ (s.lexeme || chr(1114111)) "
    # An entry is matched by its own language's reading of the query (or the simple one):
    # Spanish's stem of "basa", "bas", counts every "bas…" word, but in Spanish entries.
    "AND (v.config = ANY(s.configs) OR 'simple' = ANY(s.configs) "
    "OR v.config NOT IN (SELECT config::text FROM c)) "
    f"GROUP BY s.word, s.lexeme, v.config) x GROUP BY x.word, x.config) k WHERE {_CAUGHT_UP}), "
    "(SELECT json_object_agg(v.config, v.documents) FROM search_wordconfig v "
    f"WHERE v.word = '' AND {_CAUGHT_UP}), "
    "(SELECT array_agg(DISTINCT s.config::text || ':' || s.word) FROM s)"
)


def _bands_pay(share: float | None, limit: int) -> bool:
    """Whether a full band's worth of the newest entries is expected to hold BANDS_PAY
    times the matches asked (by the vocabulary's estimate ``share``): then reading band
    by band from the newest ends within ``_banded``'s first three statements (the open
    band and the small bands after it: ``search.bands.SPLIT``)."""
    return share is not None and share * band_entries() >= BANDS_PAY * limit


def _rare_together(share: float | None, entries: int, limit: int) -> bool:
    """Whether every entry together is expected to hold fewer than RARE_TOGETHER times
    the matches asked (by the vocabulary's estimate ``share``): then reading band by
    band from the newest reads every band anyway, one statement for each of the newest
    two and one for each group after, and one read of every band finds the same
    entries (the newest ``limit`` matches) in one statement."""
    return share is not None and share * entries < RARE_TOGETHER * limit


def _share(
    counts: list[int],
    entries: int,
    by_config: str | list | None,
    totals: str | dict | None,
    read: tuple[set[str], set[str]] = (set(), set()),
) -> float:
    """Return the share of entries expected to hold every word of a query. By the counts
    per configuration of the entries (``search_wordconfig``: ``by_config`` lists [word,
    configuration, documents], ``totals`` the entries of each configuration), words are
    taken as independent within one language: the sum over configurations of its share
    of the entries times each word's share of that configuration's entries, the rarest
    word's as it is and each further word's made TOGETHER_IN_ONE times likelier. A word
    every language shares ("bazi", "doki") meets a Russian or an English word only in that
    language's entries; the overall counts cannot tell that (see below). Without them
    (counts per configuration not caught up): the rarest word's overall share times each
    other word's, made TOGETHER times likelier (words of one language come together).
    ``read``: the configurations the query is read in, and "configuration:word" for each
    word one of them keeps; a word the entries' own configuration drops as a stop word
    ("again" in English) does not narrow what those entries match."""
    rows: list[list[Any]] | None = (
        json.loads(by_config) if isinstance(by_config, str) else by_config
    )
    sizes: dict[str, int] | None = json.loads(totals) if isinstance(totals, str) else totals
    if rows is not None and sizes:
        words = {row[0] for row in rows}
        per: dict[str, dict[str, int]] = {}
        for word, config, documents in rows:
            per.setdefault(str(config), {})[str(word)] = int(documents)
        # A word of the query the vocabulary does not hold in any configuration: none
        # of its entries, whatever the others' counts.
        if len(words) < len(counts):
            return 0.0
        total = sum(int(n) for n in sizes.values()) or 1
        share = 0.0
        for config, size in sizes.items():
            entries_in = int(size)
            if not entries_in:
                continue
            found = per.get(config, {})
            narrowing = [w for w in words if config not in read[0] or f"{config}:{w}" in read[1]]
            shares = sorted(min(1.0, found.get(word, 0) / entries_in) for word in narrowing)
            within = shares[0] if shares else 1.0
            for other in shares[1:]:
                within *= min(1.0, TOGETHER_IN_ONE * other)
            share += entries_in / total * within
        return share
    shares = sorted(min(1.0, count / max(entries, 1)) for count in counts)
    share = shares[0]
    for other in shares[1:]:
        share *= min(1.0, TOGETHER * other)
    return share


_ENTRIES = {"count": 0.0, "until": 0.0}
ENTRIES_KEPT = 60.0  # seconds a process keeps the planner's count of entries


def _entries(cursor) -> float:
    """Return the planner's count of index entries (``reltuples``), read at most once a
    minute per process: it moves only as fast as ANALYZE runs, and one statement less
    per identifier search counts at 8 searches on 2 cores."""
    now = time.monotonic()
    if now >= _ENTRIES["until"]:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = 'search_entry'::regclass")
        row = cursor.fetchone()
        _ENTRIES["count"] = max(float(row[0]) if row else 0.0, 0.0)
        _ENTRIES["until"] = now + ENTRIES_KEPT
    return _ENTRIES["count"]


def _banded(
    tsquery: str | tuple[str, ...],
    conditions: str,
    params: list[Any],
    limit: int,
    *,
    floor: int | None = None,
    ranked: str | None = None,
) -> list[Row]:
    """Return the newest ``limit`` entries matching ``tsquery``, ranked by ``ranked`` (up to id
    ``floor`` when given) through the GIN index: band by band, newest first, while fewer
    than ``limit`` were found (``search.bands``), so common words read the postings of the
    newest band(s) only; the same entries as one read of every band. A rare word's
    matches are few wherever they are: every band in one statement (one round trip)."""
    if ranked is None:  # by what is matched
        ranked = tsquery if isinstance(tsquery, str) else " | ".join(tsquery)
    newest, banded = state()
    if not banded:  # an upgraded desk whose bands are not built yet: the whole index
        bounded = "" if floor is None else f" AND s.id <= {int(floor)}"
        return _newest(tsquery, f"{bounded}{conditions}", params, ranked, limit)
    if floor is None:
        return _newest(tsquery, conditions, params, ranked, limit, bands(newest))
    rows: list[Row] = []
    # The floor is from this search's own newest id: the open band reaches it whatever
    # the process's band list says.
    below = [band for band in bands(max(newest, floor)) if band[0] <= floor]
    # The newest two bands one at a time (where a phrase of common words ends), then
    # twice as many bands a statement each time: words that are rare together read
    # every band in a few statements, not one statement (and one plan) per band.
    reads = 0
    while below and len(rows) < limit:
        size = 1 if reads < 2 else 2 ** (reads - 1)
        group, below = below[:size], below[size:]
        rows += _newest(
            tsquery,
            f" AND s.id <= {int(floor)}{conditions}",
            params,
            ranked,
            limit - len(rows),
            group,
        )
        reads += 1
    return rows


def _newest(
    tsquery: str | tuple[str, ...],
    conditions: str,
    params: list[Any],
    ranked: str,
    limit: int,
    within: list[Band] | None = None,
) -> list[Row]:
    """Return the newest ``limit`` entries matching ``tsquery``, or any of the readings
    when given them (see ``_united``), in the bands ``within`` or in every entry, newest
    first, ranked by ``ranked`` (once the newest are chosen: the rank of every match
    would cost a read of each). Several bands are one OR of their conditions:
    PostgreSQL reads each band's partial index and ORs the bitmaps (0.3 ms for a ticket
    number at 1M, planned in 0.6; a UNION of one statement per band took 1.0, planned
    in 1.2)."""
    readings = (tsquery,) if isinstance(tsquery, str) else tsquery
    bands_sql = ""
    if within:
        bands_sql = " AND (" + " OR ".join(f"({predicate(band)})" for band in within) + ")"
    sql = (
        f"SELECT {_COLUMNS} FROM search_entry s WHERE s.vector @@ %s::tsquery"  # noqa: S608 - placeholders; values are parameters
        f"{bands_sql}{conditions} ORDER BY s.id + 0 DESC LIMIT %s"
    )
    values = [readings[0], *params, limit]
    newest = sql
    if len(readings) > 1:
        # An entry several readings match comes once: DISTINCT ON its id.
        newest = (
            "SELECT DISTINCT ON (u.id) u.* FROM ("  # noqa: S608 - placeholders; values are parameters
            + " UNION ALL ".join([f"({sql})"] * len(readings))
            + ") u ORDER BY u.id DESC LIMIT %s"
        )
        values = [v for reading in readings for v in (reading, *params, limit)] + [limit]
    text = f"SELECT {_ranked('s')} FROM ({newest}) s ORDER BY s.id DESC"  # noqa: S608 - placeholders
    with read_connection().cursor() as cursor:
        cursor.execute(text, [ranked, *values])
        return cursor.fetchall()


Row = tuple[int, int, int | None, str, float, str]  # id, ticket, message, kind, rank, config
_COLUMNS = "s.id, s.ticket_id, s.message_id, s.kind, s.config, s.vector"


def _ranked(alias: str) -> str:
    """Return the select list of a ``Row`` from ``alias`` (its first parameter: the
    tsquery ranked by)."""
    a = alias
    return (
        f"{a}.id, {a}.ticket_id, {a}.message_id, {a}.kind, "
        f"ts_rank({a}.vector, %s::tsquery, 32), {a}.config"
    )


def _united(query: ParsedQuery) -> str | tuple[str, ...]:
    """Return what the GIN index is asked for: the readings one by one when several of
    them join words ("server bamo since" read in English, Dutch and simple), else the one
    literal. Given their OR, the index's fast scan must step through the matches of a
    common word of every reading at once and test the whole query at each: 290 ms for
    that phrase at 1M, 150 ms as three reads (140 + 2.5 + 9.4) united. The newest
    ``limit`` of the union are the newest ``limit`` matches of the OR: the same entries."""
    readings = query_readings(query)
    if len(readings) > 1 and any(" & " in reading for reading in readings):
        return readings
    return query_tsquery(query)


def _entry_texts(hits: list[TextHit], shown: Shown | None = None) -> dict[int, tuple[str, str]]:
    """Return (configuration, searchable text) per entry: its message's, or its ticket's
    subject (read in the query's first configuration). From ``shown`` when the page's
    loading read them (``search.loading``: in its round trip), else read here."""
    by_message = {h.message_id: h for h in hits if h.message_id}
    out: dict[int, tuple[str, str]] = {}
    unknown = [h.entry_id for h in hits if not h.config]
    configs = dict(_entry_configs(unknown)) if unknown else {}
    configs.update({h.entry_id: h.config for h in hits if h.config})
    subjects = {h.ticket_id: h for h in hits if not h.message_id}
    rows: list[tuple[int, str | None, str | None, str | None]]
    if shown is not None and shown.loaded_bodies:
        rows = [(pk, *shown.bodies[pk], None) for pk in by_message if pk in shown.bodies]
        rows += [(pk, None, None, t.subject) for pk in subjects if (t := shown.tickets.get(pk))]
    else:
        # Plain SQL, one statement: built through the ORM, the two reads cost the desk's
        # process more than PostgreSQL spends answering them.
        with read_connection().cursor() as cursor:
            cursor.execute(
                "SELECT id, body_text, body_html, NULL FROM tickets_message WHERE id = ANY(%s) "
                "UNION ALL SELECT id, NULL, NULL, subject FROM tickets_ticket WHERE id = ANY(%s)",
                [list(by_message), list(subjects)],
            )
            rows = cursor.fetchall()
    for pk, body, html, subject in rows:
        if subject is None:
            hit = by_message[pk]
            text = searchable_text(body or _html_text(html or ""))
            out[hit.entry_id] = (configs.get(hit.entry_id, "simple"), text)
        else:
            out[subjects[pk].entry_id] = (query_configs(subject)[0], subject)
    return out


def _entry_configs(ids: list[int]) -> list[tuple[int, str]]:
    from ..models import Entry

    return list(Entry.objects.filter(pk__in=ids).values_list("pk", "config"))


def _directory_partial(pattern: str, tickets: Q, limit: int) -> Ids:
    """Select tickets (newest first) of contacts and accounts whose address, phone number
    or reseller ID contains the fragment (trigram indexes on those columns), in one
    statement (``search.directory.newest_of_read``: the ids are read before the
    tickets); its columns are the ticket's id and ``updated_at``."""
    contacts = (
        "SELECT contact_id FROM tickets_contactemail WHERE email LIKE %s UNION "
        "SELECT contact_id FROM tickets_contactphone WHERE number LIKE %s LIMIT 200",
        [pattern.lower(), pattern],
    )
    accounts = (
        "SELECT id FROM tickets_account WHERE reseller_id IS NOT NULL "
        "AND lower(reseller_id) LIKE %s LIMIT 50",
        [pattern.lower()],
    )
    read = newest_of_read(Tickets(tickets), contacts=contacts, accounts=accounts, limit=limit)
    return read or ("SELECT NULL::bigint AS id, NULL::timestamptz AS updated_at WHERE false", [])


def _html_text(html: str) -> str:
    from channels_app.email.html_text import html_to_text

    return html_to_text(html) if html else ""
