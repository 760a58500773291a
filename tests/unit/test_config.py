"""Configuration: the documented file equals the defaults; environment overrides; clear errors."""

from __future__ import annotations

from pathlib import Path

import faust
import pytest

from brandpulse.config import Config, ConfigError, load_config
from streams.app import Runtime

REPO = Path(__file__).resolve().parents[2]


def test_the_documented_config_file_matches_the_built_in_defaults() -> None:
    assert load_config(REPO / "brandpulse.toml", env={}) == Config()


def test_environment_overrides_a_key_and_converts_its_type() -> None:
    config = load_config(
        REPO / "brandpulse.toml",
        env={
            "BRANDPULSE_KAFKA__BOOTSTRAP": "k1:9092,k2:9092",
            "BRANDPULSE_WORKER__WEB_PORT": "7001",
        },
    )
    assert config.bootstrap == "k1:9092,k2:9092"
    assert config.worker.web_port == 7001


def test_lists_and_tables_come_from_the_environment_as_json() -> None:
    config = load_config(
        REPO / "brandpulse.toml",
        env={
            "BRANDPULSE_BRANDS": '[{"name": "initech", "keywords": ["initech"]}]',
            "BRANDPULSE_RSS__FEEDS": '[{"url": "https://news.example/feed.xml"}]',
            "BRANDPULSE_WEBHOOKS__SHOPIFY_SHOPS": '{"initech.myshopify.com": "initech"}',
            "BRANDPULSE_X__BRANDS": '[{"brand": "initech", "rule": "initech lang:de"}]',
        },
    )
    assert [(b.name, b.keywords) for b in config.brands] == [("initech", ["initech"])]
    assert [f.url for f in config.rss.feeds] == ["https://news.example/feed.xml"]
    assert config.webhooks.shopify_shops == {"initech.myshopify.com": "initech"}
    assert config.x.brands[0].rule == "initech lang:de"
    with pytest.raises(ConfigError, match="BRANDPULSE_RSS__FEEDS must be JSON"):
        load_config(REPO / "brandpulse.toml", env={"BRANDPULSE_RSS__FEEDS": "https://a/feed"})
    with pytest.raises(ConfigError, match=r"Expected `array`, got `str` - at `\$.brands`"):
        load_config(REPO / "brandpulse.toml", env={"BRANDPULSE_BRANDS": '"acme"'})


def test_bootstrap_defaults_to_the_local_stack_broker() -> None:
    config = load_config(REPO / "brandpulse.toml", env={"BRANDPULSE_STACK__KAFKA_PORT": "19092"})
    assert config.bootstrap == "127.0.0.1:19092"


def test_config_file_comes_from_the_environment_variable(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[kafka]\nraw_topic = "other"\n[[brands]]\nname = "solo"\n')
    config = load_config(env={"BRANDPULSE_CONFIG": str(path)})
    assert config.kafka.raw_topic == "other"
    assert config.brand_names == {"solo"}


@pytest.mark.parametrize(
    ("text", "env", "message"),
    [
        ("[kafak]\n", {}, "{path}: Object contains unknown field `kafak`"),
        (
            "[worker]\nweb_port = 'x'\n",
            {},
            "{path}: Expected `int`, got `str` - at `$.worker.web_port`",
        ),
        (
            "[worker\n",
            {},
            "{path}: not valid TOML: Expected ']' at the end of a table declaration (at line 1, column 8)",
        ),
        (
            "",
            {"BRANDPULSE_WORKER__PORT": "1"},
            "environment variable BRANDPULSE_WORKER__PORT names no setting",
        ),
        (
            "",
            {"BRANDPULSE_WORKER__WEB_PORT": "abc"},
            "{path} with environment overrides: Expected `int`, got `str` - at `$.worker.web_port`",
        ),
        ("brands = []\n", {}, "{path}: configure at least one [[brands]] entry"),
        (
            "[[brands]]\nname = 'a'\n[[brands]]\nname = 'a'\n",
            {},
            "{path}: brand names must be unique, got ['a', 'a']",
        ),
        (
            "[[brands]]\nname = 'a'\ncompetitors = ['b']\n",
            {},
            "{path}: competitors ['b'] are not configured brands",
        ),
        (
            "[[brands]]\nname = 'A B'\n",
            {},
            "{path}: Expected `str` matching regex '^[a-z0-9][a-z0-9_-]{{0,62}}$' - at `$.brands[0].name`",
        ),
    ],
)
def test_bad_configuration_is_refused_clearly(
    tmp_path: Path, text: str, env: dict[str, str], message: str
) -> None:
    path = tmp_path / "brandpulse.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path, env=env)
    assert str(caught.value) == message.format(path=path)


def test_missing_config_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"config file .*nope.toml does not exist"):
        load_config(tmp_path / "nope.toml", env={})


def test_the_readme_full_example_configures_every_connector_for_the_brand(tmp_path: Path) -> None:
    from connectors.bluesky.connector import brand_accounts
    from connectors.mastodon.connector import timelines
    from connectors.reddit.connector import plan
    from connectors.x.connector import brand_rules
    from connectors.youtube.connector import streams

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("### A full example: one brand on every platform", 1)[1]
    example = section.split("```toml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "example.toml").write_text(example)
    config = load_config(tmp_path / "example.toml", env={})
    assert [b.name for b in config.brands] == ["acme", "globex"]
    assert {rule.tag for rule, _ in brand_rules(config)} == {"acme"}
    assert {t.brand.brand for t in timelines(config)} == {"acme"}
    assert [a.brand for a in brand_accounts(config)] == ["acme"]
    reddit_streams, subscribers = plan(config)
    assert reddit_streams and subscribers
    assert streams(config)
    assert config.rss.feeds and set(config.webhooks.meta_pages.values()) == {"acme"}


@pytest.mark.parametrize("early", [True, False])
def test_the_worker_warns_early_as_configured(early: bool, tmp_path: Path) -> None:
    """``alerting.early_warnings`` reaches the worker's analytics (``bench.paging --paced``
    times both)."""
    config = load_config(env={"BRANDPULSE_ALERTING__EARLY_WARNINGS": str(early).lower()})
    app = faust.App("config-test", broker="kafka://127.0.0.1:1", datadir=str(tmp_path))
    assert Runtime(config, app).analytics.early is early


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('{"twitter": 15}', r"platform_lateness: unknown platform\(s\) \['twitter'\]"),
        ('{"x": -1}', r"Expected `float` >= 0.0 - at `\$.analytics.platform_lateness\[...\]`"),
    ],
)
def test_a_platform_lateness_names_a_platform_and_is_not_negative(value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(env={"BRANDPULSE_ANALYTICS__PLATFORM_LATENESS": value})
    good = load_config(env={"BRANDPULSE_ANALYTICS__PLATFORM_LATENESS": '{"x": 15}'})
    assert (good.analytics.lateness("x"), good.analytics.lateness("reddit")) == (15.0, 60.0)
