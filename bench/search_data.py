"""Synthetic desk data for bench/search.py and bench/dashboard.py, written by PostgreSQL
itself (INSERT … SELECT over generate_series and a pool of sentences sent once by COPY):
never the ORM one row at a time.

Two years of tickets (1,000,000 by default) of 100,000 contacts in 20,000 accounts (half of
them resellers with a six-digit reseller ID), 3–7 messages each (5,000,000), in English,
Russian, Dutch and Spanish; a tenth of the messages quote a phone number (in one of four
notations), an order number or a shop's web address, a fifth carry a rare word; agents'
replies alternate with the customer's mails. Each message gets its search entry (the
tsvector of its language plus its identifiers) as `search.indexing` would write it, and
each ticket its subject entry; the indexes are built after the load.
"""

from __future__ import annotations

import io
import random
import time
from collections.abc import Callable

LANGUAGES = {  # code: (share of tickets in %, configuration, common words, most common first)
    "en": (
        40,
        "english",
        "the domain is not working please help we cannot renew our hosting since yesterday "
        "invoice payment error transfer dns records mailbox website certificate customer "
        "order account login password server email backup restore slow down urgent issue "
        "problem again still thanks regards support ticket update status reply request".split(),
    ),
    "ru": (
        25,
        "russian",
        "домен не работает помогите пожалуйста оплата счёт ошибка перенос почта сайт "
        "сертификат заказ аккаунт пароль сервер резервная копия восстановление медленно "
        "срочно проблема снова спасибо поддержка заявка ответ запрос хостинг продление "
        "клиент письмо настройки доступ вход".split(),
    ),
    "nl": (
        20,
        "dutch",
        "het domein werkt niet graag hulp we kunnen onze hosting niet verlengen sinds "
        "gisteren factuur betaling fout verhuizing records mailbox website certificaat "
        "bestelling account wachtwoord server backup herstel traag dringend probleem "
        "opnieuw bedankt groeten ondersteuning verzoek antwoord".split(),
    ),
    "es": (
        15,
        "spanish",
        "el dominio no funciona por favor ayuda no podemos renovar nuestro alojamiento desde "
        "ayer factura pago error transferencia registros correo sitio certificado pedido "
        "cuenta contraseña servidor copia restauración lento urgente problema otra vez "
        "gracias saludos soporte solicitud respuesta".split(),
    ),
}
POOL = 60_000  # sentences
TERMS = 40_000  # technical pseudo-words shared by every language (a long tail)
SUBJECTS = 5_000
AGENTS = 30


def _zipf_picker(rng: random.Random, size: int, s: float = 1.07) -> Callable[[], int]:
    weights = [1 / (rank**s) for rank in range(1, size + 1)]
    total = sum(weights)
    cumulative, acc = [], 0.0
    for w in weights:
        acc += w / total
        cumulative.append(acc)
    import bisect

    return lambda: min(bisect.bisect_left(cumulative, rng.random()), size - 1)


def _terms(rng: random.Random) -> list[str]:
    syllables = "ka lo mi ne ta ro vu zi pe sa do ge ri mo lu ba ki fe no te".split()
    seen: set[str] = set()
    while len(seen) < TERMS:
        word = "".join(rng.choice(syllables) for _ in range(rng.randint(2, 4)))
        seen.add(word + rng.choice(["", "x", "er", "on", "ix"]))
    return sorted(seen, key=lambda w: (len(w), w))


def pool_rows(seed: int = 14) -> tuple[list[tuple[int, str, str]], dict[str, tuple[int, int]]]:
    """Return (id, language, sentence) rows and each language's id range."""
    rng = random.Random(seed)
    terms = _terms(rng)
    pick_term = _zipf_picker(rng, len(terms))
    rows: list[tuple[int, str, str]] = []
    ranges: dict[str, tuple[int, int]] = {}
    next_id = 1
    for lang, (share, _config, words) in LANGUAGES.items():
        pick_word = _zipf_picker(rng, len(words), 1.2)
        count = POOL * share // 100
        start = next_id
        for _ in range(count):
            sentence = [
                words[pick_word()] if rng.random() < 0.7 else terms[pick_term()]
                for _ in range(rng.randint(8, 20))
            ]
            rows.append((next_id, lang, " ".join(sentence)))
            next_id += 1
        ranges[lang] = (start, next_id - 1)
    return rows, ranges


def fill(cursor, *, tickets: int, log: Callable[[str], None]) -> dict[str, float]:
    """Fill an empty, migrated database; return seconds per step."""
    timings: dict[str, float] = {}

    def step(name: str, *statements: str, params: list | None = None) -> None:
        started = time.perf_counter()
        for statement in statements:
            cursor.execute(statement, params)
        timings[name] = round(time.perf_counter() - started, 1)
        log(f"  {name}: {timings[name]} s")

    rows, ranges = pool_rows()
    cursor.execute("DROP TABLE IF EXISTS bench_pool, bench_range, bench_subject, bench_msg")
    cursor.execute("CREATE UNLOGGED TABLE bench_pool (id int PRIMARY KEY, lang text, body text)")
    buffer = io.StringIO("".join(f"{i}\t{lang}\t{text}\n" for i, lang, text in rows))
    cursor.copy_expert("COPY bench_pool FROM STDIN", buffer)
    cursor.execute("CREATE UNLOGGED TABLE bench_range (lang text, config text, lo int, hi int)")
    for lang, (lo, hi) in ranges.items():
        cursor.execute(
            "INSERT INTO bench_range VALUES (%s, %s, %s, %s)", [lang, LANGUAGES[lang][1], lo, hi]
        )
    cursor.execute("SELECT setseed(0.14)")
    step(
        "subjects",
        "CREATE UNLOGGED TABLE bench_subject AS SELECT g AS id, "
        "array_to_string((string_to_array(p.body, ' '))[1:6], ' ') AS subject "
        f"FROM generate_series(1, {SUBJECTS}) g JOIN bench_pool p ON p.id = 1 + (g * 7) % {POOL}",
    )
    step(
        "accounts, contacts, addresses, phones",
        "INSERT INTO tickets_account (name, reseller_id, tier, created_at) "
        "SELECT 'Account ' || i, CASE WHEN i % 2 = 0 THEN (300000 + i)::text END, 'standard', "
        "now() FROM generate_series(1, 20000) i",
        "INSERT INTO tickets_contact (account_id, name, role, verified_at, chat_handle, "
        "language, time_zone, created_at) "
        "SELECT (SELECT min(id) FROM tickets_account) + i % 20000, 'Contact ' || i, 'authorized', "
        "now(), '', '', '', now() FROM generate_series(1, 100000) i",
        "INSERT INTO tickets_contactemail (contact_id, email, is_primary) "
        "SELECT id, 'contact' || id || '@firm' || account_id || '.example', true "
        "FROM tickets_contact",
        "INSERT INTO tickets_contactphone (contact_id, number) SELECT id, CASE WHEN id % 2 = 0 "
        "THEN '+7495' ELSE '+3120' END || lpad(((id::bigint * 7919) % 10000000)::text, 7, '0') "
        "FROM tickets_contact",
    )
    step(
        "agents",
        "INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, "
        "is_staff, is_active, date_joined) SELECT '!', false, 'bench-agent-' || i, "
        f"'Agent', i::text, '', true, true, now() FROM generate_series(1, {AGENTS}) i",
    )
    # The workspace's full-text indexes are built after the load, as a big desk's worker
    # builds them after migrate (workspace.search_indexes).
    from workspace.search_indexes import INDEXES as WORKSPACE_INDEXES

    step(
        "drop workspace search indexes for the load",
        *(f"DROP INDEX IF EXISTS {name}" for name in WORKSPACE_INDEXES),
    )
    # Tickets: numbers ascend with time over two years; old ones are closed. All are the
    # default line's (its departments in turn): the dashboard of one line of 1,000,000.
    step(
        "tickets",
        "INSERT INTO tickets_ticket (number, subject, status, severity, line_id, department_id, "
        "language, assignee_id, account_id, contact_id, origin_channel, needs_verification, "
        "cloned_by_customer, is_problem, created_at, updated_at, solved_at, closed_at) "
        "SELECT 100000 + i, s.subject, st.status, 3, d.line, "
        "d.ids[1 + i % array_length(d.ids, 1)], '', "
        "a.ids[1 + (i * 13) % array_length(a.ids, 1)], c.account_id, c.id, "
        "(ARRAY['email','email','email','portal','chat','phone','api'])[1 + i % 7], "
        "false, false, false, t.created, t.created + interval '3 hours', "
        "CASE WHEN st.status IN ('solved','closed') THEN t.created + interval '2 hours' END, "
        "CASE WHEN st.status = 'closed' THEN t.created + interval '4 days' END "
        f"FROM generate_series(1, {tickets}) i "
        "CROSS JOIN (SELECT l.id AS line, array_agg(d.id ORDER BY d.id) ids "
        "FROM tickets_supportline l JOIN tickets_department d ON d.line_id = l.id "
        "WHERE l.is_default GROUP BY l.id) d "
        "CROSS JOIN (SELECT array_agg(id ORDER BY id) ids FROM auth_user "
        "WHERE username LIKE 'bench-agent-%%') a "
        "JOIN tickets_contact c ON c.id = (SELECT min(id) FROM tickets_contact) + "
        "(i::bigint * 7) % 100000 "
        f"JOIN bench_subject s ON s.id = 1 + i % {SUBJECTS} "
        "CROSS JOIN LATERAL (SELECT now() - interval '730 days' + "
        f"(i::float / {tickets}) * interval '730 days' AS created) t "
        "CROSS JOIN LATERAL (SELECT CASE WHEN t.created < now() - interval '14 days' THEN "
        "CASE WHEN random() < 0.97 THEN 'closed' ELSE 'solved' END ELSE "
        "(ARRAY['new','open','open','pending_customer','on_hold','solved','solved'])"
        "[1 + floor(random() * 7)::int] END AS status) st",
        "SELECT setval('tickets_ticket_number_seq', (SELECT max(number) FROM tickets_ticket))",
    )
    # Messages: the first from the customer, then agent and customer in turn.
    step(
        "messages (staging)",
        "CREATE UNLOGGED TABLE bench_msg AS SELECT row_number() OVER (ORDER BY ticket_id, k) "
        "AS id, x.* FROM ("
        "SELECT t.id AS ticket_id, k, t.contact_id, t.created_at + k * interval '40 minutes' "
        "AS at, r.config, (SELECT min(id) FROM auth_user WHERE username LIKE 'bench-agent-%%') "
        "+ (t.id + k) % 30 AS agent, e.email, "
        "p1.body || ' ' || p2.body AS words, ph.kind AS phone_kind, "
        "((t.id * 31 + k * 7) % 10000000) AS n, random() AS extra "
        "FROM tickets_ticket t "
        "CROSS JOIN LATERAL generate_series(1, 3 + t.id % 5) k "
        "JOIN bench_range r ON r.lang = (CASE WHEN t.id % 100 < 40 THEN 'en' "
        "WHEN t.id % 100 < 65 THEN 'ru' WHEN t.id % 100 < 85 THEN 'nl' ELSE 'es' END) "
        "JOIN tickets_contactemail e ON e.contact_id = t.contact_id "
        "JOIN bench_pool p1 ON p1.id = r.lo + (t.id * 17 + k * 101) % (r.hi - r.lo + 1) "
        "JOIN bench_pool p2 ON p2.id = r.lo + (t.id * 29 + k * 7) % (r.hi - r.lo + 1) "
        "CROSS JOIN LATERAL (SELECT (t.id + k) % 4 AS kind) ph) x",
        "ALTER TABLE bench_msg ADD COLUMN body text, ADD COLUMN lexemes text[], "
        "ADD COLUMN fragments text[]",
    )
    # Identifiers as the write path finds them: phone digits, order codes, shop domains,
    # rare words; the customer's own address as an exact lexeme only.
    step(
        "messages (identifiers)",
        "UPDATE bench_msg SET body = words || CASE "
        "WHEN extra < 0.04 THEN ' call me at ' || (ARRAY["
        "'8 (495) ' || substr(lpad(n::text,7,'0'),1,3) || '-' || substr(lpad(n::text,7,'0'),4,2) "
        "|| '-' || substr(lpad(n::text,7,'0'),6,2), "
        "'+7 495 ' || substr(lpad(n::text,7,'0'),1,3) || ' ' || substr(lpad(n::text,7,'0'),4,2) "
        "|| ' ' || substr(lpad(n::text,7,'0'),6,2), "
        "'+31 20 ' || substr(lpad(n::text,7,'0'),1,3) || ' ' || substr(lpad(n::text,7,'0'),4,4), "
        "'020-' || lpad(n::text,7,'0')])[1 + phone_kind] "
        "WHEN extra < 0.07 THEN ' order INV-' || lpad((n % 1000000)::text, 6, '0') "
        "WHEN extra < 0.10 THEN ' see https://shop' || (n % 50000) || '.example/cart' "
        "WHEN extra < 0.30 THEN ' zq' || n || 'x' ELSE '' END, "
        "fragments = CASE "
        "WHEN extra < 0.04 THEN ARRAY[CASE WHEN phone_kind < 2 THEN '7495' ELSE '3120' END "
        "|| lpad(n::text,7,'0')] "
        "WHEN extra < 0.07 THEN ARRAY['inv-' || lpad((n % 1000000)::text, 6, '0')] "
        "WHEN extra < 0.10 THEN ARRAY['shop' || (n % 50000) || '.example'] "
        "ELSE ARRAY[]::text[] END",
        "UPDATE bench_msg SET lexemes = fragments || CASE WHEN k % 2 = 1 THEN "
        "ARRAY[email, split_part(email, '@', 2)] ELSE ARRAY[]::text[] END",
    )
    step(
        "messages",
        "INSERT INTO tickets_message (id, ticket_id, channel, direction, author_contact_id, "
        "author_user_id, body_text, body_html, occurred_at, received_at, metadata) "
        "SELECT m.id, m.ticket_id, CASE WHEN t.origin_channel = 'api' THEN 'email' "
        "ELSE t.origin_channel END, CASE WHEN k % 2 = 1 THEN 'inbound' ELSE 'outbound' END, "
        "CASE WHEN k % 2 = 1 THEN m.contact_id END, CASE WHEN k % 2 = 0 THEN m.agent END, "
        "m.body, '', m.at, m.at, CASE WHEN k % 2 = 1 THEN jsonb_build_object('from', m.email) "
        "ELSE '{}'::jsonb END FROM bench_msg m JOIN tickets_ticket t ON t.id = m.ticket_id",
        "SELECT setval(pg_get_serial_sequence('tickets_message', 'id'), "
        "(SELECT max(id) FROM tickets_message))",
    )
    from search import bands

    cursor.execute(
        "SELECT relname FROM pg_class WHERE relkind = 'i' AND relname LIKE %s",
        [bands.PREFIX.replace("_", "\\_") + "%"],
    )
    step(
        "drop search indexes for the load",
        "DROP INDEX IF EXISTS search_entry_vector",
        "DROP INDEX IF EXISTS search_entry_idents_trgm",
        *(f"DROP INDEX IF EXISTS {row[0]}" for row in cursor.fetchall()),
    )
    configs = ("simple", "english", "dutch", "spanish", "russian")
    subject_vector = " || ".join(f"to_tsvector('{c}', t.subject)" for c in configs)
    step(
        "subject entries",
        "INSERT INTO search_entry (ticket_id, message_id, kind, config, idents, vector) "
        f"SELECT t.id, NULL, 'subject', 'simple', '', setweight({subject_vector}, 'A') "
        "FROM tickets_ticket t ORDER BY t.id",
    )
    step(
        "message entries",
        "INSERT INTO search_entry (ticket_id, message_id, kind, config, idents, vector) "
        "SELECT ticket_id, id, 'message', config, array_to_string(fragments, ' '), "
        "setweight(to_tsvector(config::regconfig, body), 'C') || "
        "setweight(array_to_tsvector(lexemes), 'B') FROM bench_msg ORDER BY id",
    )
    started = time.perf_counter()  # the words' GIN index in bands, as migrate builds them
    bands.bands_build(concurrently=False)
    timings["GIN index on the entries (bands)"] = round(time.perf_counter() - started, 1)
    step(
        "trigram index on identifiers",
        "CREATE INDEX search_entry_idents_trgm ON search_entry USING gin (idents gin_trgm_ops) "
        "WHERE idents <> ''",
    )
    step(
        "workspace search indexes",
        *(f"CREATE INDEX {name} ON {table}" for name, table in WORKSPACE_INDEXES.items()),
    )
    step("analyze", "ANALYZE")
    cursor.execute("DROP TABLE IF EXISTS bench_subject, bench_msg")
    return timings
