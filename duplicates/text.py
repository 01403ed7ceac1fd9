"""Turn cleaned text into the content words that carry its meaning (pure Python).

Stop words cover English function words and the filler that differs between channels
("called", "chat", "please help"); a light suffix stemmer makes "transferring",
"transfers" and "transferred" one token; a few spellings are unified.
"""

from __future__ import annotations

import re

_STOP = frozenset(
    """
a about above after again against all also am an and any are aren't as at be because been
before being below between both but by can can't cannot could couldn't did didn't do does
doesn't doing don't down during each few for from further had hadn't has hasn't have haven't
having he her here hers herself him himself his how i i'd i'll i'm i've if in into is isn't it
it's its itself just let's me more most my myself no nor not of off on once only or other
ought our ours ourselves out over own same she should shouldn't so some such than that the
their theirs them themselves then there these they this those through to too under until up
very was wasn't we were weren't what when where which while who whom why will with won't
would wouldn't you your yours yourself yourselves get got getting still now yet again already
since yesterday today tomorrow morning afternoon evening week day days hour hours minute
minutes ago last
hi hello hey dear thanks thank thx please pls kindly regards best cheers sorry ok okay yes
yeah sure great fine good hope help helping helped assist appreciate asap urgent urgently
anyone someone something anything everything possible able need needs needed want wanted
like know let look looking see seems seem think tried try trying again also really just
issue issues problem problems question questions support team ticket customer client
caller called calling call phone rang spoke chat chatting visitor agent email mail emailing
wrote write writing sent message portal form submitted submit contact contacting reached
reaching said says saying told tell asked asking explained mentioned reported reports report
regarding re fw fwd subject summary note notes via per thing things bit lot lots guy guys
one two us reseller id transcript
""".split()
)
_SPELLINGS = {
    "e-mail": "email",
    "emails": "email",
    "mailbox": "mailbox",
    "website": "site",
    "webshop": "shop",
    "webstore": "shop",
    "store": "shop",
    "ssl": "certificate",
    "tls": "certificate",
    "cert": "certificate",
    "certs": "certificate",
    "authcode": "authcode",
    "epp": "authcode",
    "auth": "authcode",
    "dns": "dns",
    "nameservers": "nameserver",
    "ns": "nameserver",
    "payment": "pay",
    "paid": "pay",
    "login": "login",
    "log-in": "login",
    "signin": "login",
    "password": "password",
    "pw": "password",
    "isn't": "not",
    "doesn't": "not",
    "won't": "not",
    "can't": "not",
    "cannot": "not",
}
_WORD = re.compile(r"[a-z0-9][a-z0-9'._-]*[a-z0-9]|[a-z0-9]", re.I)


def content_tokens(text: str) -> list[str]:
    """Return the content words of ``text`` in order: lower case, stemmed, no stop words."""
    tokens: list[str] = []
    for raw in _WORD.findall(text.lower()):
        word = raw.strip("._-'")
        if "." in word or "@" in word:
            continue  # domains, versions, file names: identifiers carry them
        word = _SPELLINGS.get(word, word)
        if word in _STOP or len(word) < 2 or word.isdigit():
            continue
        word = stem(word)
        if word and word not in _STOP:
            tokens.append(word)
    return tokens


def stem(word: str) -> str:
    """Return a crude stem: enough to make inflections of one word compare equal."""
    for suffix, keep in (
        ("ations", 3),
        ("ation", 3),
        ("ments", 3),
        ("ment", 3),
        ("ings", 3),
        ("ing", 3),
        ("ied", 3),
        ("ies", 3),
        ("ed", 3),
        ("es", 4),
        ("ly", 4),
        ("s", 3),
        ("e", 4),
    ):
        if word.endswith(suffix) and len(word) - len(suffix) >= keep:
            base = word[: -len(suffix)]
            if suffix in ("ied", "ies"):
                return base + "y"
            if len(base) > 3 and base[-1] == base[-2] and base[-1] not in "ls":
                base = base[:-1]  # transferr(ed) -> transfer
            return base
    return word
