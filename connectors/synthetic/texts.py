"""Texts for the synthetic connector, in English and German, by sentiment.

``{brand}`` is the brand's name, ``{handle}`` one of its accounts. The mix of emoji, hashtags,
@handles, URLs, negation and intensifiers is deliberate: it is what real posts look like and
what a sentiment scorer has to handle.
"""

from __future__ import annotations

from typing import Final

MENTIONS: Final[dict[str, dict[str, tuple[str, ...]]]] = {
    "en": {
        "positive": (
            "Just got my order from {brand}, absolutely love it! 😍 #happy",
            "Shout-out to @{handle} for the super quick help today, great service 👍",
            "{brand} really nailed it with the new release. Impressed!",
            "Best customer support I've had in years, thanks @{handle} :)",
            "Can't stop recommending {brand} to friends, so good ❤️",
        ),
        "neutral": (
            "Does anyone know when {brand} opens the new store?",
            "Comparing {brand} with the alternatives, any thoughts? https://example.com/compare",
            "@{handle} what are your opening hours on Sunday?",
            "Saw an ad for {brand} on the train this morning #commute",
            "Is the {brand} app available in Austria yet?",
        ),
        "negative": (
            "@{handle} my order is two weeks late and nobody answers. Terrible service 😡",
            "{brand} charged me twice and support is useless #fail",
            "Really disappointed with {brand}, the product broke after one day 👎",
            "Not happy at all, @{handle} cancelled my account without any notice!",
            "Worst experience ever with {brand}, never again :(",
        ),
    },
    "de": {
        "positive": (
            "Bestellung von {brand} heute angekommen, bin total begeistert! 😍",
            "Danke @{handle} für die schnelle Hilfe, super Service 👍",
            "{brand} hat mit dem neuen Angebot echt überzeugt. Klasse!",
            "Sehr freundlicher Kundendienst bei {brand}, gerne wieder :)",
            "Ich kann {brand} nur empfehlen, richtig gut ❤️ #zufrieden",
        ),
        "neutral": (
            "Weiß jemand, wann {brand} die neue Filiale eröffnet?",
            "@{handle} wie sind eure Öffnungszeiten am Samstag?",
            "Gibt es die {brand} App schon in der Schweiz? https://example.com/app",
            "Heute Werbung von {brand} in der Zeitung gesehen #morgen",
            "Vergleiche gerade {brand} mit anderen Anbietern, Erfahrungen?",
        ),
        "negative": (
            "@{handle} meine Lieferung ist seit zwei Wochen überfällig, keiner antwortet 😡",
            "{brand} hat doppelt abgebucht und der Support hilft nicht #ärgerlich",
            "Total enttäuscht von {brand}, das Gerät ist nach einem Tag kaputt 👎",
            "Gar nicht zufrieden, @{handle} hat meinen Vertrag ohne Grund gekündigt!",
            "Schlechtester Service überhaupt bei {brand}, nie wieder :(",
        ),
    },
}

POSTS: Final[dict[str, tuple[str, ...]]] = {
    "en": (
        "New this week at {brand}: our autumn collection is here 🍂",
        "We're hiring! Join the {brand} team https://example.com/jobs",
        "Tell us: what should {brand} build next?",
    ),
    "de": (
        "Neu bei {brand}: die Herbstkollektion ist da 🍂",
        "Wir suchen Verstärkung im {brand} Team https://example.com/jobs",
        "Was sollen wir als Nächstes machen? Sagt es uns!",
    ),
}

CARE_REPLIES: Final[dict[str, tuple[str, ...]]] = {
    "en": (
        "Sorry to hear that! Please send us a DM with your order number and we'll sort it out.",
        "Thanks for reaching out, we're on it and will get back to you today.",
        "Glad you like it! Thanks for the kind words 😊",
    ),
    "de": (
        "Das tut uns leid! Schick uns bitte eine DM mit deiner Bestellnummer, wir kümmern uns.",
        "Danke für deine Nachricht, wir schauen uns das heute noch an.",
        "Freut uns sehr! Danke für das Lob 😊",
    ),
}
