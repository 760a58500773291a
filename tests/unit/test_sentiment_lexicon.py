"""Lexicon data, German word forms and compounds, and the English-or-German guess."""

from __future__ import annotations

from importlib.resources import files

import pytest

from brandpulse.sentiment import detect_language, german
from brandpulse.sentiment.german import Compounds, ascii_spelling, forms
from brandpulse.sentiment.lexicon import SUPPORTED, load_rules

DATA = files("brandpulse.sentiment").joinpath("data")
ROLES = {
    "booster",
    "dampener",
    "negator",
    "negator_short",
    "negator_after",
    "contrast",
    "emphatic_never",
    "emphatic_so",
    "compound_prefix",
    "language_cue",
}


def data_rows(name: str) -> list[list[str]]:
    lines = DATA.joinpath(name).read_text(encoding="utf-8").splitlines()
    return [line.split("\t") for line in lines if line and not line.startswith("#")]


def test_every_data_file_has_its_licence_documented() -> None:
    documented = files("brandpulse.sentiment").joinpath("LEXICONS.md").read_text(encoding="utf-8")
    names = [entry.name for entry in DATA.iterdir() if entry.name.endswith(".tsv")]
    assert len(names) >= 7
    for name in names:
        assert f"`{name}`" in documented, name
        assert DATA.joinpath(name).read_text(encoding="utf-8").startswith("# "), name


@pytest.mark.parametrize(
    "name", ["en_vader.tsv", "en.tsv", "de.tsv", "symbols_vader.tsv", "symbols.tsv"]
)
def test_lexicon_rows_are_well_formed(name: str) -> None:
    rows = data_rows(name)
    assert rows
    for row in rows:
        assert len(row) in (2, 3), row
        assert -4.0 <= float(row[1]) <= 4.0, row
        assert row[0] == row[0].lower().strip(), row
        if len(row) == 3:
            assert row[2] in ("adj", "noun", "verb", "word"), row


@pytest.mark.parametrize("lang", SUPPORTED)
def test_rule_rows_use_known_roles_and_signs(lang: str) -> None:
    rows = data_rows(f"{lang}_rules.tsv")
    assert {row[1] for row in rows} <= ROLES
    rules = load_rules(lang)
    assert all(value > 0 for word, value in rules.boosters.items() if word in ("very", "sehr"))
    assert all(value < 0 for word, value in rules.boosters.items() if word in ("slightly", "etwas"))
    assert rules.contrasts and rules.negators and rules.language_cues
    assert rules.modifiers == rules.negators | rules.boosters.keys()


def test_rules_are_loaded_once() -> None:
    assert load_rules("de") is load_rules("de")


def test_german_has_post_negation_and_compounds_and_english_does_not() -> None:
    english, german = load_rules("en"), load_rules("de")
    assert "nicht" in german.negators_after and not english.negators_after
    assert german.compounds is not None and english.compounds is None


@pytest.mark.parametrize(
    ("lemma", "word_class", "expected"),
    [
        ("enttäuschen", "verb", {"enttäuscht", "enttäuschte", "enttäuschend", "enttäuschenden"}),
        ("abbuchen", "verb", {"abgebucht", "abbuchte", "abgebuchten"}),
        ("funktionieren", "verb", {"funktioniert", "funktionierte"}),
        ("ärgern", "verb", {"ärgert", "geärgert", "ärgerte"}),
        ("warten", "verb", {"wartet", "gewartet", "wartete"}),
        ("teuer", "adj", {"teure", "teurer", "teuersten"}),
        ("schlecht", "adj", {"schlechte", "schlechter", "schlechteste", "schlechtesten"}),
        ("müde", "adj", {"müde", "müden"}),
        ("störung", "noun", {"störungen"}),
        ("nie wieder", "word", {"nie wieder"}),
    ],
)
def test_german_forms_are_generated(lemma: str, word_class: str, expected: set[str]) -> None:
    assert expected <= set(forms(lemma, word_class))


def test_separable_prefixes_take_ge_inside_and_inseparable_none() -> None:
    assert "abgebucht" in set(forms("abbuchen", "verb"))
    assert "zurückgebucht" in set(forms("zurückbuchen", "verb"))
    assert "verärgert" in set(forms("verärgern", "verb"))
    assert "geverärgert" not in set(forms("verärgern", "verb"))


def test_ascii_spellings_replace_umlauts_and_sharp_s() -> None:
    assert ascii_spelling("enttäuschte Grüße, süß und groß") == (
        "enttaeuschte Gruesse, suess und gross"
    )
    assert load_rules("de").valence["enttaeuscht"] == load_rules("de").valence["enttäuscht"]


def test_un_negates_german_adjectives_that_are_not_listed() -> None:
    valence = load_rules("de").valence
    assert valence["unpraktisch"] < 0 < valence["praktisch"]
    assert valence["unproblematisch"] > 0 > valence["problematisch"]


def test_compounds_take_their_last_noun_or_telling_first_part() -> None:
    compounds = Compounds(
        nouns={"verzögerung": -1.5, "ärger": -2.2, "gut": 1.9},
        prefixes={"scheiß": -2.6},
        words={"chaos": -2.2, "top": 2.2, "leicht": 1.0},
    )
    assert compounds("lieferverzögerung") == -1.5
    assert compounds("megaärger") == -2.2
    assert compounds("scheißladen") == -2.6
    assert compounds("corona-chaos") == -2.2
    assert compounds("top-service") == 2.2
    assert compounds("vielleicht") is None  # "leicht" is no noun
    assert compounds("wohlgut") is None  # too short a last part to trust
    assert compounds("kundenservice") is None


def test_compounds_are_found_again_after_the_memo_starts_over(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(german, "_MEMO_LIMIT", 2)
    compounds = Compounds(nouns={"verzögerung": -1.5}, prefixes={}, words={"gut": 1.9})
    for words in (["lieferverzögerung", "heute"], ["eins", "zwei", "drei"], ["lieferverzögerung"]):
        known = compounds.lookup(words)
        assert known["gut"] == 1.9
        assert "eins" not in known
    assert known["lieferverzögerung"] == -1.5


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("The delivery was late again", "en"),
        ("Die Lieferung kam schon wieder zu spät", "de"),
        ("kaum zufrieden", "de"),
        ("Grüße", "de"),
        ("worst airline ever", "en"),
        ("Preis ok, Qualität mies", "de"),
        ("@TelcoDE #fail https://example.de", "en"),
        ("", "en"),
        ("😡😡", "en"),
        ("Il servizio è ottimo", "en"),
    ],
)
def test_language_is_told_apart(text: str, lang: str) -> None:
    assert detect_language(text) == lang
