"""The lexicon scorer: what moves a score, in English and German, and what must not."""

from __future__ import annotations

import pytest

from brandpulse.sentiment import (
    LABELS,
    NEGATIVE_FROM,
    POSITIVE_FROM,
    Scorer,
    Sentiment,
    default_scorer,
    label_for,
)

SCORER = default_scorer()


def score(text: str, lang: str | None = None) -> float:
    return SCORER.score(text, lang).score


def label(text: str, lang: str | None = None) -> str:
    return SCORER.score(text, lang).label


def test_the_default_scorer_is_built_once_and_is_a_scorer() -> None:
    scorer: Scorer = default_scorer()
    assert scorer is SCORER
    assert isinstance(scorer.score("good"), Sentiment)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The support team was great, thank you!", "positive"),
        ("Worst customer service ever, totally useless", "negative"),
        ("My order should arrive on Thursday", "neutral"),
        ("Der Service war super, vielen Dank!", "positive"),
        ("Total enttäuscht, die Lieferung kam kaputt an", "negative"),
        ("Die Filiale hat ab Montag neue Öffnungszeiten", "neutral"),
    ],
)
def test_plain_posts_get_the_obvious_label(text: str, expected: str) -> None:
    assert label(text) == expected


@pytest.mark.parametrize(
    ("positive", "negated"),
    [
        ("good", "not good"),
        ("I like it", "I don't like it"),
        ("The service was helpful", "The service was never helpful"),
        ("gut", "nicht gut"),
        ("ein guter Service", "kein guter Service"),
        ("Ich bin zufrieden", "Ich bin nicht zufrieden"),
    ],
)
def test_negation_flips_a_positive_word(positive: str, negated: str) -> None:
    assert score(positive) > 0 > score(negated)


@pytest.mark.parametrize(
    ("negative", "negated"),
    [("bad", "not bad"), ("schlecht", "nicht schlecht"), ("Probleme", "keine Probleme")],
)
def test_negation_flips_a_negative_word(negative: str, negated: str) -> None:
    assert score(negative) < 0 < score(negated)


def test_german_negation_may_follow_the_word() -> None:
    assert score("Das gefällt mir", "de") > 0 > score("Das gefällt mir nicht", "de")
    assert score("Funktioniert nicht", "de") < 0


def test_negation_stops_at_a_clause_break_and_at_but() -> None:
    assert score("Not bad. Great!") > score("bad. Great!") > 0
    assert score("no treats but nuts") < 0


def test_never_so_emphasises_instead_of_negating() -> None:
    assert score("I have never been so happy") > score("I have been happy") > 0
    assert score("Ich war noch nie so enttäuscht", "de") < 0


@pytest.mark.parametrize(
    ("plain", "boosted", "dampened"),
    [
        ("good", "very good", "slightly good"),
        ("bad", "extremely bad", "somewhat bad"),
        ("gut", "sehr gut", "etwas gut"),
        ("enttäuscht", "total enttäuscht", "etwas enttäuscht"),
    ],
)
def test_intensifiers_scale_and_dampeners_shrink(plain: str, boosted: str, dampened: str) -> None:
    assert abs(score(boosted, None)) > abs(score(plain, None)) > abs(score(dampened, None)) > 0
    assert score(boosted) * score(plain) > 0  # same sign


def test_kaum_turns_praise_into_a_complaint() -> None:
    assert score("kaum zufrieden", "de") < 0 < score("zufrieden", "de")


def test_a_word_that_is_both_booster_and_praise_boosts_the_next_one() -> None:
    assert score("super langsam", "de") < score("langsam", "de") < 0
    assert score("Super!", "de") > 0


def test_all_caps_and_exclamation_marks_emphasise() -> None:
    assert score("The service was GREAT") > score("The service was great") > 0
    assert score("great!!!") > score("great!") > score("great") > 0
    assert score("THE SERVICE WAS GREAT") == pytest.approx(score("the service was great"))


def test_what_follows_but_or_aber_counts_more() -> None:
    assert score("The food was good but the service was terrible") < 0
    assert score("The food was terrible but the service was good") > 0
    assert score("Das Essen war gut, aber der Service war schrecklich", "de") < 0


@pytest.mark.parametrize(
    ("symbols", "sign"),
    [("😡", -1), ("👍", 1), ("❤️", 1), ("👍🏽", 1), (":(", -1), (":-)", 1), (":D", 1), ("<3", 1)],
)
def test_emoji_and_emoticons_count(symbols: str, sign: int) -> None:
    assert score(f"my order {symbols}") * sign > 0


def test_emoji_are_not_negated_by_a_preceding_negator() -> None:
    assert score("Seit drei Tagen kein Internet 😡", "de") < 0


def test_repeated_emoji_and_mouths_count_more() -> None:
    assert score("😡😡😡") < score("😡") < 0
    assert score("so sad :(((") == pytest.approx(score("so sad :("))


def test_hashtags_are_scored_as_words_and_camel_case_is_split() -> None:
    assert score("My flight #fail") == pytest.approx(score("My flight fail"))
    assert score("#NeverAgain") < 0
    assert score("#zufrieden mit der Waschmaschine") > 0
    assert score("Best trip #SoHappy") > score("Best trip")


def test_handles_and_urls_are_never_scored_as_words() -> None:
    assert SCORER.score("@happy_user https://great.example") == Sentiment(0.0, "neutral")
    assert score("@terrible_airline thanks for the upgrade") == score("thanks for the upgrade")
    assert score("see www.awful.example/love") == 0.0
    assert score("mail me at happy@great.example") == score("mail me at")


def test_html_entities_are_decoded_not_scored() -> None:
    assert score("delayed &gt;&gt;&gt;") == score("delayed >>>") < 0


def test_hyphenated_compounds_are_one_word() -> None:
    assert score("a point-and-shoot camera with drag-and-drop") == 0.0
    assert score("top-notch support") > 0


def test_phrases_count_as_a_whole() -> None:
    assert score("I can't wait for the new season") > 0
    assert score("kind of") == 0.0 < score("kind")
    assert score("Nie wieder!", "de") < 0
    assert score("Finger weg von diesem Anbieter", "de") < 0


def test_customer_requests_are_not_praise() -> None:
    assert score("please help, my bag is lost") < 0


@pytest.mark.parametrize(
    ("text", "sign"),
    [
        ("Lieferverzögerung schon wieder", -1),
        ("Scheißservice", -1),
        ("Corona-Chaos bei der Bahn", -1),
        ("enttaeuscht vom Kundendienst", -1),
        ("unfreundliche Mitarbeiter", -1),
        ("Die enttäuschendste Lieferung", -1),
        ("doppelt abgebucht", -1),
        ("unkomplizierte Rückgabe", 1),
        ("hochwertig verarbeitet", 1),
    ],
)
def test_german_inflections_spellings_and_compounds_are_known(text: str, sign: int) -> None:
    assert score(text, "de") * sign > 0


def test_german_word_ends_are_not_mistaken_for_compounds() -> None:
    assert score("vielleicht morgen", "de") == 0.0
    assert score("Kundenservice angerufen", "de") == 0.0


def test_language_is_detected_when_not_given() -> None:
    assert SCORER.score("Der Service war schlecht") == SCORER.score(
        "Der Service war schlecht", "de"
    )
    assert SCORER.score("kaum zufrieden") == SCORER.score("kaum zufrieden", "de")
    assert SCORER.score("not good") == SCORER.score("not good", "en")


def test_other_languages_are_scored_with_the_english_rules() -> None:
    assert SCORER.score("super 👍 lol", "fr") == SCORER.score("super 👍 lol", "en")
    assert SCORER.score("nicht gut", "nl") == SCORER.score("nicht gut", "en")


def test_labels_follow_the_thresholds() -> None:
    assert LABELS == ("negative", "neutral", "positive")
    assert NEGATIVE_FROM < 0 < POSITIVE_FROM
    assert label_for(POSITIVE_FROM) == "positive"
    assert label_for(POSITIVE_FROM - 1e-9) == "neutral"
    assert label_for(NEGATIVE_FROM) == "negative"
    assert label_for(NEGATIVE_FROM + 1e-9) == "neutral"
    assert label_for(0.0) == "neutral"
    assert (label_for(1.0), label_for(-1.0)) == ("positive", "negative")


def test_scores_saturate_within_bounds() -> None:
    loud = "AMAZING!!!! best best best love love 😍😍😍😍 great awesome!!!"
    assert 0.99 < score(loud) <= 1.0
    assert -1.0 <= score("worst worst horrible hate hate 😡😡😡😡 disgusting!!!!") < -0.99


def test_empty_and_symbol_only_texts_are_neutral() -> None:
    for text in ("", "   ", "...", "12345", "@someone", "https://example.com"):
        assert SCORER.score(text) == Sentiment(0.0, "neutral")
