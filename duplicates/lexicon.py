"""Words of the support domain in English, Dutch, German, Spanish and Russian (pure data).

``CONCEPTS`` groups words that name one thing in a support ticket, whatever the language
or the customer's choice of word: "payment", "checkout", "betaling", "Zahlung", "pago",
"оплата" are all ``pay``. Each word is stemmed with its language's stemmer when the
module ``language`` loads, so inflections need not be listed. The groups come from what
a hosting, registrar and shop desk hears (DNS/nameserver, transfer/EPP code,
payment/checkout, invoice/bill …), not from the labelled pairs.

``STOP`` lists function words and the words every ticket of a channel uses (greetings,
"called", "chat", "please"): they say nothing about the problem.
"""

from __future__ import annotations

# concept -> language -> space-separated words (multi-word phrases are not supported)
CONCEPTS: dict[str, dict[str, str]] = {
    "pay": {
        "en": "pay payment payments paid paying checkout card cards acquirer",
        "nl": "betaling betalingen betalen betaald afrekenen kaart",
        "de": "zahlung zahlungen bezahlen bezahlt zahlungsart kasse karte kreditkarte",
        "es": "pago pagos pagar pagado tarjeta pasarela",
        "ru": "оплата оплаты оплатить оплачен платеж платёж платежи карта картой эквайринг эквайер",
    },
    "decline": {
        "en": "declined decline rejected reject refused denied",
        "nl": "geweigerd afgewezen",
        "de": "abgelehnt ablehnung verweigert",
        "es": "rechazado rechazada denegado denegada",
        "ru": "отклонен отклонён отклонена отклонено отказ",
    },
    "refund": {
        "en": "refund refunds refunded chargeback",
        "nl": "terugbetaling terugstorten creditnota",
        "de": "erstattung erstatten rückbuchung gutschrift",
        "es": "reembolso devolución devolver",
        "ru": "возврат вернуть возвраты",
    },
    "charge_twice": {
        "en": "twice double doubled duplicate",
        "nl": "dubbel tweemaal",
        "de": "doppelt zweimal",
        "es": "doble dos veces duplicado",
        "ru": "дважды двойное двойной задвоился",
    },
    "invoice": {
        "en": "invoice invoices bill billing statement receipt",
        "nl": "factuur facturen",
        "de": "rechnung rechnungen",
        "es": "factura facturas facturación",
        "ru": "счет счёт счета акт фактура документы",
    },
    "dns": {
        "en": "dns nameserver nameservers ns zone record records resolve resolving resolves",
        "nl": "naamserver naamservers zone",
        "de": "nameserver zone eintrag einträge",
        "es": "dns servidores zona registro registros",
        "ru": "днс зона запись записи ns резолв",
    },
    "transfer": {
        "en": "transfer transfers transferring epp authcode auth authinfo tag ips",
        "nl": "verhuizing verhuizen verhuisd overdracht autorisatiecode token",
        "de": "transfer umzug authinfo",
        "es": "transferencia transferir traslado authcode autorización",
        "ru": "перенос перенести трансфер",
    },
    "renew": {
        "en": "renew renewal renewals renewed expire expired expiry expires",
        "nl": "verlenging verlengen verlengd verloopt verlopen",
        "de": "verlängerung verlängern verlängert abläuft abgelaufen",
        "es": "renovar renovación renovado caduca caducado",
        "ru": "продление продлить продлился истек истёк",
    },
    "register": {
        "en": "registration register registering registered",
        "nl": "registratie registreren geregistreerd",
        "de": "registrierung registrieren",
        "es": "registro registrar registrado alta",
        "ru": "регистрация зарегистрировать регистрируется",
    },
    "certificate": {
        "en": "ssl tls certificate certificates cert https",
        "nl": "certificaat",
        "de": "zertifikat",
        "es": "certificado",
        "ru": "сертификат ssl",
    },
    "mail": {
        "en": "email emails mail mails mailbox inbox letter",
        "nl": "mail mailbox",
        "de": "mail mails postfach",
        "es": "correo correos buzón",
        "ru": "письмо письма почта почту ящик",
    },
    "bounce": {
        "en": "bounce bounces bounced undeliverable",
        "nl": "bounce bounces",
        "de": "abgewiesen unzustellbar",
        "es": "rebota rebotan rebote",
        "ru": "возвращаются отбойник",
    },
    "spam": {"en": "spam junk", "nl": "spam", "de": "spam", "es": "spam", "ru": "спам"},
    "image": {
        "en": "image images picture pictures photo photos thumbnail",
        "nl": "afbeelding afbeeldingen foto fotos",
        "de": "bild bilder foto fotos",
        "es": "imagen imágenes foto fotos",
        "ru": "картинка картинки изображение изображения фото фотографии",
    },
    "import": {
        "en": "import imports imported upload csv feed",
        "nl": "import importeren upload",
        "de": "import importieren hochladen",
        "es": "importación importar subir",
        "ru": "импорт загрузка выгрузка прайс",
    },
    "export": {
        "en": "export exports exporting",
        "nl": "export exporteren",
        "de": "export exportieren",
        "es": "exportación exportar",
        "ru": "экспорт",
    },
    "order": {
        "en": "order orders",
        "nl": "bestelling bestellingen",
        "de": "bestellung bestellungen auftrag",
        "es": "pedido pedidos",
        "ru": "заказ заказы",
    },
    "stock": {
        "en": "stock inventory",
        "nl": "voorraad",
        "de": "lagerbestand bestand",
        "es": "existencias stock agotado",
        "ru": "остаток остатки склад",
    },
    "shipping": {
        "en": "shipping delivery shipment parcel courier",
        "nl": "verzending verzendkosten bezorging",
        "de": "versand versandkosten lieferung",
        "es": "envío envíos entrega",
        "ru": "доставка доставки посылка курьер",
    },
    "price": {
        "en": "price prices pricing",
        "nl": "prijs prijzen",
        "de": "preis preise",
        "es": "precio precios",
        "ru": "цена цены",
    },
    "login": {
        "en": "login log sign password 2fa",
        "nl": "inloggen wachtwoord",
        "de": "anmelden passwort login",
        "es": "entrar contraseña acceso",
        "ru": "вход войти пароль",
    },
    "site_down": {
        "en": "down outage unavailable unreachable offline",
        "nl": "onbereikbaar storing",
        "de": "erreichbar ausfall störung",
        "es": "caída caído",
        "ru": "недоступен лежит сбой",
    },
    "slow": {
        "en": "slow slowly timeout",
        "nl": "traag",
        "de": "langsam",
        "es": "lento tarda",
        "ru": "медленно тормозит долго",
    },
    "webhook": {"en": "webhook webhooks callback", "ru": "вебхук вебхуки"},
    "api": {"en": "api token tokens endpoint", "ru": "апи токен"},
    "redirect": {
        "en": "redirect redirects 301 forwarding forward",
        "nl": "doorverwijzing doorsturen",
        "de": "weiterleitung",
        "es": "redirección",
        "ru": "редирект перенаправление перенаправления",
    },
    "lock": {
        "en": "lock locked blocked hold suspended",
        "nl": "geblokkeerd",
        "de": "gesperrt sperre",
        "es": "bloqueado bloqueo suspendido",
        "ru": "блокировка заблокирован",
    },
    "owner": {
        "en": "registrant owner holder",
        "nl": "houder houderwijziging",
        "de": "inhaber",
        "es": "titular",
        "ru": "администратор владелец",
    },
    "notify": {
        "en": "notification notifications confirmation",
        "nl": "bevestiging melding",
        "de": "bestätigung benachrichtigung",
        "es": "confirmación notificación",
        "ru": "уведомление уведомления подтверждение",
    },
    "sms": {"en": "sms", "ru": "смс sms"},
    "barcode": {"en": "barcode barcodes ean gtin", "ru": "штрихкод штрихкоды"},
    "review": {"en": "review reviews", "ru": "отзыв отзывы"},
    "newsletter": {
        "en": "newsletter campaign",
        "es": "boletín",
        "de": "newsletter",
        "nl": "nieuwsbrief",
    },
    "discount": {
        "en": "discount coupon voucher promo",
        "nl": "korting",
        "de": "gutschein rabatt",
        "es": "descuento cupón",
        "ru": "скидка промокод купон",
    },
    "receipt_fiscal": {"ru": "чек чеки касса фн офд", "en": "fiscal"},
}

STOP: dict[str, str] = {
    "en": """
a about above after again against all also am an and any are aren't as at be because been
before being below between both but by can can't cannot could couldn't did didn't do does
doesn't doing don't down during each few for from further had hadn't has hasn't have haven't
having he her here hers herself him himself his how i i'd i'll i'm i've if in into is isn't it
it's its itself just let's me more most my myself no nor not of off on once only or other
ought our ours ourselves out over own same she should shouldn't so some such than that the
their theirs them themselves then there these they this those through to too under until up
very was wasn't we were weren't what when where which while who whom why will with won't
would wouldn't you your yours yourself yourselves get got getting still now yet already
since yesterday today tomorrow morning afternoon evening week day days hour hours minute
minutes ago last hi hello hey dear thanks thank thx please pls kindly regards best cheers
sorry ok okay yes yeah sure great fine good hope help appreciate asap urgent anyone
someone something anything everything possible able need needs needed want wanted like
know let look looking see seems seem think tried try trying really issue issues problem
problems question questions support team ticket customer customers client clients caller
called calling call calls phone rang spoke chat visitor agent wrote write writing sent
message portal form submitted submit contact reached said says told tell asked asking
explained mentioned reported report regarding re fw fwd subject summary note notes via per
thing things bit lot guy guys one two us id transcript happened when back checked check
checking again works work working worked don't won't doesn't didn't isn't will shall may
might must would could should colleague colleagues told promised follow following wife
callback call-back back explained explain confirmed confirm asked promised checked
""",
    "nl": """
de het een en van ik je jij u we wij ze zij hij het is was zijn ben bent waren wordt worden
werd in op aan met voor naar bij uit over om tot als dan dat die dit deze er maar ook nog
niet geen wel al heel zo ja nee of te door hebben heeft had hadden kan kunnen kunt zou
zouden moet moeten wil willen mijn ons onze jullie hun haar hem wat waar wanneer hoe waarom
hoi hallo goedemorgen goedemiddag beste groet groeten vriendelijke bedankt dank alvast
graag even nu vandaag gisteren morgen sinds steeds gewoon klant klanten collega belt belde
gebeld telefoon bericht medewerker gebeurt gebeurd niets iets hebben we ze zo dus toch
weer meer alles iemand elk elke alle andere krijgen krijg kreeg staat stond komt kwam gaat
ging kijken kijk laat belt gebeld uitgelegd vraagt gecontroleerd mail gemaild vraag vragen
probleem graag snel top oké
""",
    "de": """
der die das ein eine einer eines einem einen und oder aber ich du er sie es wir ihr ist
sind war waren wird werden wurde bin bist hat haben hatte hatten kann können konnte muss
müssen soll sollen will wollen mit von zu zum zur bei aus für auf an in im am um über
unter nach vor seit bis als wie wenn dass nicht kein keine auch noch schon nur so da dann
hier dort mein meine unser unsere ihr ihre ihren sein seine was wer wo warum wann hallo
guten tag morgen grüß gott gruß grüße freundlichen viele liebe danke dank bitte herr frau
heute gestern jetzt kunde kunden kundin kollege kollegin ruft rief anruf angerufen telefon
mitarbeiter problem frage gerne schnell ok sich man es den dem des beim vom ins ans aufs
ist sei seien wäre wären würde würden hab habe hast gibt gab geht ging kommt kam immer mal
rückruf zugesagt ruft anruf angerufen erklärt bittet möchte gesagt geprüft weitergegeben
nun doch ja nein eigentlich leider bereits etwas nichts alles jemand uns euch ihm ihnen
dieser diese dieses diesen diesem jeder jede jedes alle andere anderen
""",
    "es": """
el la los las un una unos unas y o pero de del al a en con por para sin sobre entre desde
hasta que qué como cómo cuando cuándo donde dónde quien yo tú él ella nosotros vosotros
ellos ellas me te se nos os le les lo mi mis tu tus su sus nuestro nuestra es son era
eran fue ser estar está están estaba he ha han hemos habéis había hay no sí ya también
muy más menos todo todos este esta estos estas ese esa eso hola buenos buenas días tardes
saludo saludos un gracias favor por cliente clientes compañero compañera llama llamó
llamada teléfono agente problema pregunta hoy ayer mañana ahora desde sigue siguen
nos hemos han podéis podemos puede pueden tenemos tiene tienen hace hacer sale salen dice
vale bien otra otro otros vez cada solo sólo aquí así porque pues entonces algo nada
llamó digo explico quedamos compañera compañero reviso pregunta paso comenta
""",
    "ru": """
и в во не что он на я с со как а то все всё она так его но да ты к у же вы за бы по только
ее её мне было вот от меня еще ещё нет о из ему теперь когда даже ну вдруг ли если уже или
ни быть был была были него до вас нибудь опять уж вам ведь там потом себя ничего ей может
они тут где есть надо ней для мы тебя их чем сам чтобы без будто чего раз тоже себе под
будет ж тогда кто этот того потому этого какой совсем ним здесь этом один почти мой тем
чтоб нее сейчас куда зачем всех никогда можно при наконец два об другой хоть после над
больше тот через эти нас про всего них какая много разве три эту моя впрочем хорошо свою
этой перед иногда лучше чуть том нельзя такой им более всегда конечно всю между это эта
здравствуйте добрый день привет спасибо пожалуйста уважением вечер утро утром сегодня
вчера завтра клиент клиенты покупатель покупатели коллега звонил звонила звонок звонит
перезвонить оператор чат пишет писал писала написал вопрос проблема подскажите срочно
обещал обещала объяснил сказал попросил передал проверил звонила уточнил
""",
}
