"""The RSS/Atom connector without a network: parsing, keyword matching, mapping, scheduling."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone

import pytest

from brandpulse.config import BrandConfig, FeedConfig, RssConfig
from brandpulse.contract import Author, Event, decode_event, encode_event
from brandpulse.errors import BrandpulseError
from connectors.metrics import ConnectorStats
from connectors.rss import source as source_module
from connectors.rss.feed import FeedError, parse_feed
from connectors.rss.mapping import BrandMatcher, item_events, matchers
from connectors.rss.source import Fetched, RssSource
from connectors.runtime import SourceError

FETCHED = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)

# Shaped like the RSS 2.0 specification's sample (rssboard.org/files/sample-rss-2.xml), with the
# spec's own <author> example and a Dublin Core creator added to exercise both author forms.
RSS_SAMPLE = b"""<?xml version="1.0"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">
   <channel>
      <title>Liftoff News</title>
      <link>http://liftoff.msfc.nasa.gov/</link>
      <description>Liftoff to Space Exploration.</description>
      <language>en-us</language>
      <pubDate>Tue, 10 Jun 2003 04:00:00 GMT</pubDate>
      <lastBuildDate>Tue, 10 Jun 2003 09:41:01 GMT</lastBuildDate>
      <docs>http://blogs.law.harvard.edu/tech/rss</docs>
      <generator>Weblog Editor 2.0</generator>
      <managingEditor>editor@example.com</managingEditor>
      <webMaster>webmaster@example.com</webMaster>
      <item>
         <title>Star City</title>
         <link>http://liftoff.msfc.nasa.gov/news/2003/news-starcity.asp</link>
         <description>How do Americans get ready to work with Russians aboard the International Space Station? They take a crash course in culture, language and protocol at Russia's &lt;a href="http://howe.iki.rssi.ru/GCTC/gctc_e.htm"&gt;Star City&lt;/a&gt;.</description>
         <author>lawyer@boyer.net (Lawyer Boyer)</author>
         <pubDate>Tue, 03 Jun 2003 09:39:21 GMT</pubDate>
         <guid>http://liftoff.msfc.nasa.gov/2003/06/03.html#item573</guid>
      </item>
      <item>
         <description>Sky watchers in Europe, Asia, and parts of Alaska and Canada will experience a &lt;a href="http://science.nasa.gov/headlines/y2003/30may_solareclipse.htm"&gt;partial eclipse of the Sun&lt;/a&gt; on Saturday, May 31st.</description>
         <pubDate>Fri, 30 May 2003 11:06:42 GMT</pubDate>
         <guid>http://liftoff.msfc.nasa.gov/2003/05/30.html#item572</guid>
      </item>
      <item>
         <title>The Engine That Does More</title>
         <link>http://liftoff.msfc.nasa.gov/news/2003/news-VASIMR.asp</link>
         <description>Before man travels to Mars, NASA hopes to design new engines that will let us fly through the Solar System more quickly.  The proposed VASIMR engine would do that.</description>
         <dc:creator>Jane Engineer</dc:creator>
         <pubDate>Tue, 27 May 2003 08:37:32 GMT</pubDate>
         <guid>http://liftoff.msfc.nasa.gov/2003/05/27.html#item571</guid>
      </item>
      <item>
         <title>Astronauts' Dirty Laundry</title>
         <link>http://liftoff.msfc.nasa.gov/news/2003/news-laundry.asp</link>
         <description>Compared to earlier spacecraft, the International Space Station has many luxuries, but laundry facilities are not one of them.  Instead, astronauts have other options.</description>
         <pubDate>Tue, 20 May 2003 08:56:02 GMT</pubDate>
         <guid>http://liftoff.msfc.nasa.gov/2003/05/20.html#item570</guid>
      </item>
   </channel>
</rss>"""

# RFC 4287 section 1.1, the extensive example.
ATOM_EXTENSIVE = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title type="text">dive into mark</title>
  <subtitle type="html">
    A &lt;em&gt;lot&lt;/em&gt; of effort
    went into making this effortless
  </subtitle>
  <updated>2005-07-31T12:29:29Z</updated>
  <id>tag:example.org,2003:3</id>
  <link rel="alternate" type="text/html"
   hreflang="en" href="http://example.org/"/>
  <link rel="self" type="application/atom+xml"
   href="http://example.org/feed.atom"/>
  <rights>Copyright (c) 2003, Mark Pilgrim</rights>
  <generator uri="http://www.example.com/" version="1.0">
    Example Toolkit
  </generator>
  <entry>
    <title>Atom draft-07 snapshot</title>
    <link rel="enclosure" type="audio/mpeg" length="1337"
     href="http://example.org/audio/ph34r_my_podcast.mp3"/>
    <link rel="alternate" type="text/html"
     href="http://example.org/2005/04/02/atom"/>
    <id>tag:example.org,2003:3.2397</id>
    <updated>2005-07-31T12:29:29Z</updated>
    <published>2003-12-13T08:29:29-04:00</published>
    <author>
      <name>Mark Pilgrim</name>
      <uri>http://example.org/</uri>
      <email>f8dy@example.com</email>
    </author>
    <contributor>
      <name>Sam Ruby</name>
    </contributor>
    <contributor>
      <name>Joe Gregorio</name>
    </contributor>
    <content type="xhtml" xml:lang="en"
     xml:base="http://diveintomark.org/">
      <div xmlns="http://www.w3.org/1999/xhtml">
        <p><i>[Update: The Atom draft is finished.]</i></p>
      </div>
    </content>
  </entry>
</feed>"""

# RFC 4287 section 1.1, the minimal example, with the feed's language declared.
ATOM_MINIMAL = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="de">
  <title>Example Feed</title>
  <link href="http://example.org/"/>
  <updated>2003-12-13T18:30:02Z</updated>
  <author>
    <name>John Doe</name>
  </author>
  <id>urn:uuid:60a76c80-d399-11d9-b93C-0003939e0af6</id>
  <entry>
    <title>Atom-Powered Robots Run Amok</title>
    <link href="http://example.org/2003/12/13/atom03"/>
    <id>urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a</id>
    <updated>2003-12-13T18:30:02Z</updated>
    <summary>Some text.</summary>
  </entry>
</feed>"""

BRANDS = matchers(
    [
        BrandConfig(name="starcity", keywords=["star city"]),
        BrandConfig(name="vasimr", keywords=["VASIMR", "eclipse"]),
        BrandConfig(name="atom", keywords=["atom", "robots"]),
        BrandConfig(name="silent"),
    ]
)


def events_of(document: bytes, url: str = "http://example.org/feed") -> list[Event]:
    feed = parse_feed(document)
    events = [e for item in feed.items for e in item_events(item, feed, url, BRANDS, FETCHED)]
    assert all(decode_event(encode_event(e)) == e for e in events), "valid under the contract"
    return events


def test_rss_items_map_to_mentions_field_by_field() -> None:
    star, eclipse, engine = events_of(RSS_SAMPLE)
    assert star == Event(
        v=1,
        id="http://liftoff.msfc.nasa.gov/2003/06/03.html#item573",
        platform="blog",
        brand="starcity",
        kind="mention",
        time=datetime(2003, 6, 3, 9, 39, 21, tzinfo=UTC),
        author=Author(id="lawyer@boyer.net (Lawyer Boyer)"),
        text="Star City\n\nHow do Americans get ready to work with Russians aboard the "
        "International Space Station? They take a crash course in culture, language and "
        "protocol at Russia's Star City .",
        lang="en",
        url="http://liftoff.msfc.nasa.gov/news/2003/news-starcity.asp",
    )
    assert eclipse.id == "http://liftoff.msfc.nasa.gov/2003/05/30.html#item572"
    assert (eclipse.brand, eclipse.url, eclipse.author) == ("vasimr", None, None)
    assert eclipse.text is not None and eclipse.text.startswith("Sky watchers in Europe")
    assert "partial eclipse of the Sun on Saturday" in eclipse.text
    assert engine.author == Author(id="Jane Engineer")
    assert engine.time == datetime(2003, 5, 27, 8, 37, 32, tzinfo=UTC)
    assert engine.text is not None and engine.text.startswith("The Engine That Does More\n\n")


def test_atom_entries_map_to_mentions_field_by_field() -> None:
    (draft,) = events_of(ATOM_EXTENSIVE)
    assert draft == Event(
        v=1,
        id="tag:example.org,2003:3.2397",
        platform="blog",
        brand="atom",
        kind="mention",
        time=datetime(2003, 12, 13, 8, 29, 29, tzinfo=timezone(timedelta(hours=-4))),
        author=Author(id="Mark Pilgrim"),
        text="Atom draft-07 snapshot\n\n[Update: The Atom draft is finished.]",
        url="http://example.org/2005/04/02/atom",
    )
    (robots,) = events_of(ATOM_MINIMAL)
    assert robots == Event(
        v=1,
        id="urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a",
        platform="blog",
        brand="atom",
        kind="mention",
        time=datetime(2003, 12, 13, 18, 30, 2, tzinfo=UTC),
        author=Author(id="John Doe"),
        text="Atom-Powered Robots Run Amok\n\nSome text.",
        lang="de",
        url="http://example.org/2003/12/13/atom03",
    )


def test_an_item_mentioning_two_brands_is_one_event_per_brand() -> None:
    document = RSS_SAMPLE.replace(b"<title>Star City</title>", b"<title>Star City VASIMR</title>")
    assert [e.brand for e in events_of(document)][:2] == ["starcity", "vasimr"]


def test_items_without_guid_fall_back_to_link_then_to_a_stable_hash() -> None:
    no_guid = RSS_SAMPLE.replace(
        b"<guid>http://liftoff.msfc.nasa.gov/2003/06/03.html#item573</guid>", b""
    )
    assert events_of(no_guid)[0].id == "http://liftoff.msfc.nasa.gov/news/2003/news-starcity.asp"
    bare = b'<rss version="2.0"><channel><item><title>Star City</title></item></channel></rss>'
    first, again = events_of(bare)[0], events_of(bare)[0]
    assert first.id == again.id and first.time == FETCHED
    assert events_of(bare, url="http://other.example/feed")[0].id != first.id


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ACME launches", True),
        ("we love acme's coffee", True),
        ("(Acme)", True),
        ("acmes and acmeish", False),
        ("subacme", False),
        ("Road runner", False),
    ],
)
def test_keywords_match_whole_words_ignoring_case(text: str, expected: bool) -> None:
    (acme,) = matchers([BrandConfig(name="acme", keywords=["acme"])])
    assert bool(acme.pattern.search(text)) is expected


def test_keywords_with_non_word_edges_still_match_as_words() -> None:
    matcher = BrandMatcher.of(BrandConfig(name="cpp", keywords=["C++", "@acme"]))
    assert matcher is not None
    assert matcher.pattern.search("we ship c++ now") and matcher.pattern.search("ping @ACME!")
    assert not matcher.pattern.search("x@acmecorp")


@pytest.mark.parametrize(
    "document",
    [
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 '
        b'"&lol;&lol;&lol;&lol;">]><rss version="2.0"><channel><item><title>&lol2;</title>'
        b"</item></channel></rss>",
        b'<?xml version="1.0"?><!doctype rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        b"<rss><channel><item><title>&xxe;</title></item></channel></rss>",
    ],
    ids=["billion-laughs", "external-entity"],
)
def test_documents_declaring_entities_are_rejected_unread(document: bytes) -> None:
    with pytest.raises(FeedError, match="declares a document type or entities"):
        parse_feed(document)


def test_other_documents_are_rejected_with_the_reason() -> None:
    with pytest.raises(FeedError, match="not well-formed XML"):
        parse_feed(b"<rss><channel>")
    with pytest.raises(FeedError, match=r"the root element is <html>"):
        parse_feed(b"<html><body>moved</body></html>")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_failing_feeds_back_off_or_wait_as_told_and_once_ends_after_a_success(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answers: list[Fetched | SourceError] = [
        SourceError("rate_limited", "HTTP 429", wait=2.0),
        SourceError("connection", "dropped"),
        Fetched(200, RSS_SAMPLE, {"etag": '"v2"'}, None),
    ]
    seen_cursors: list[Mapping[str, str]] = []

    def fetch(url: str, cursor: Mapping[str, str], config: RssConfig) -> Fetched:
        seen_cursors.append(cursor)
        answer = answers.pop(0)
        if isinstance(answer, SourceError):
            raise answer
        return answer

    monkeypatch.setattr(source_module, "fetch", fetch)
    clock, stats = Clock(), ConnectorStats("rss")
    config = RssConfig(feeds=[FeedConfig(url="http://f/x", interval=60)], retry_initial=1.0)
    source = RssSource(config, BRANDS, stats, once=True, clock=clock)
    cursors = {"http://f/x": {"etag": '"v1"'}}

    assert source.next_due() == 0.0 and not source.done()
    assert not source.poll(cursors).healthy
    assert source.next_due() == 102.0, "Retry-After: 2"
    clock.now = 102.0
    assert not source.poll(cursors).healthy
    assert 102.1 <= source.next_due() <= 104.0, "backoff: a tenth of the initial to twice it"
    clock.now = source.next_due()
    result = source.poll(cursors)
    assert result.healthy and len(result.events) == 3
    assert result.cursors == {"http://f/x": {"etag": '"v2"'}}
    assert seen_cursors == [{"etag": '"v1"'}] * 3
    assert stats.errors == {"rate_limited": 1, "connection": 1}
    assert source.done()


def test_a_connector_without_feeds_stops_at_start_saying_what_to_configure() -> None:
    with pytest.raises(BrandpulseError, match=r"no feeds to poll: add them to \[rss\] feeds"):
        RssSource(RssConfig(), BRANDS, ConnectorStats("rss"))
