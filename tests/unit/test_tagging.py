"""The tagging rule pack: folding, keyword/regex/count rules, pack validation, and the default
pack's precision and recall on labelled multilingual messages (tests/fixtures/tagging_labelled.yaml)."""

from collections import Counter
from pathlib import Path

import pytest
import yaml

from processors.tagging import RulePackError, explain, load_pack, tag_text
from processors.textnorm import fold
from streams.errors import ConfigError
from streams.rules import read_pack

LABELLED = Path(__file__).resolve().parents[1] / "fixtures" / "tagging_labelled.yaml"
DEFAULT = read_pack(None)
COUNT_ONLY = {"price_sensitive"}  # needs a contact's history: tested below, not on single messages


def tags(text: str, pack=DEFAULT) -> set[str]:
    return {m.tag for m in tag_text(pack, text).matches}


@pytest.mark.parametrize(("a", "b"), [("退貨", "退货"), ("ＨＯＷ　ＭＵＣＨ", "how much"), ("Devolución", "devolucion"),
                                      ("ﾍﾝﾋﾟﾝ", "ヘンピン"), ("がっかり", "がっかり"), ("São Paulo", "sao paulo")])
def test_fold_makes_spellings_equal(a, b):
    assert fold(a) == fold(b)


def test_traditional_and_simplified_fire_the_same_rule():
    assert tags("我想退貨") == tags("我想退货") == {"returns"}
    (match,) = tag_text(DEFAULT, "我想退货").matches
    assert (match.department, match.rule_version, match.pack) == ("returns", "2026.11.1", "default")


def test_latin_keywords_match_whole_words_unless_they_end_in_a_star():
    pack = load_pack({"pack": "t", "version": "1", "rules": [
        {"tag": "ship", "keywords": ["ship"]}, {"tag": "devol", "keywords": ["devol*"]}]})
    assert tags("Do you ship to Macau?", pack) == {"ship"}
    assert tags("our relationship", pack) == set()
    assert tags("Quiero devolverlo", pack) == {"devol"}


def test_labelled_messages_precision_and_recall_at_least_0_9_per_tag():
    rows = yaml.safe_load(LABELLED.read_text(encoding="utf-8"))
    assert len(rows) >= 60
    assert {r["lang"].split("-")[0] for r in rows} >= {"zh", "ja", "en", "es", "pt"}
    tp, fp, fn = Counter(), Counter(), Counter()
    for row in rows:
        got, want = tags(row["text"]) - COUNT_ONLY, set(row["tags"])
        for t in got & want:
            tp[t] += 1
        for t in got - want:
            fp[t] += 1
        for t in want - got:
            fn[t] += 1
    report = []
    for tag in sorted(set(tp) | set(fp) | set(fn)):
        precision = tp[tag] / (tp[tag] + fp[tag]) if tp[tag] + fp[tag] else 0.0
        recall = tp[tag] / (tp[tag] + fn[tag]) if tp[tag] + fn[tag] else 0.0
        report.append((tag, precision, recall, tp[tag] + fn[tag]))
        print(f"{tag:15} precision {precision:.2f} recall {recall:.2f} ({tp[tag] + fn[tag]} labelled)")
    intents = {"price_inquiry", "shipping", "returns", "complaint", "quote_request", "store_address", "size",
               "order_status"}
    assert intents <= {tag for tag, *_ in report}
    assert [r for r in report if r[1] < 0.9 or r[2] < 0.9] == []


def test_count_rule_needs_three_mentions_in_thirty_days():
    day = 86_400_000
    counts = {}
    fired = []
    for i, (offset, text) in enumerate([(0, "有折扣嗎"), (31, "折扣呢？"), (35, "打折嗎"), (40, "discount?")]):
        tagged = tag_text(DEFAULT, text, wamid=f"m{i}", ts_ms=offset * day, counts=counts)
        counts = tagged.counts
        fired.append("price_sensitive" in {m.tag for m in tagged.matches})
    assert fired == [False, False, False, True]  # day 0 falls out of the window before day 31


def test_count_rule_does_not_count_the_same_message_twice():
    counts = {}
    for _ in range(3):
        tagged = tag_text(DEFAULT, "折扣 折扣", wamid="m1", ts_ms=0, counts=counts)
        counts = tagged.counts
    assert "price_sensitive" not in {m.tag for m in tagged.matches}  # 2 mentions, one message
    assert "price_sensitive" in {m.tag for m in tag_text(DEFAULT, "折扣", wamid="m2", ts_ms=1,
                                                          counts=counts).matches}


def test_explain_shows_every_rule_and_why():
    lines = {rule.tag: (fires, why) for rule, fires, why in explain(DEFAULT, "有折扣嗎？運費多少錢？")}
    assert lines["price_inquiry"] == (True, "keyword '有折扣吗'")  # the first keyword in the text
    assert lines["shipping"] == (True, "keyword '运费'")
    assert lines["price_sensitive"][0] is False and "fires at 3" in lines["price_sensitive"][1]
    assert lines["returns"] == (False, None)


@pytest.mark.parametrize(("doc", "message"), [
    ([], "expected a mapping"),
    ({"pack": "p", "rules": [{"tag": "x", "keywords": ["a"]}]}, "'version' is required"),
    ({"pack": "p", "version": "1", "rules": [{"tag": "Bad Tag", "keywords": ["a"]}]}, "snake_case"),
    ({"pack": "p", "version": "1", "rules": [{"tag": "x", "regex": ["("]}]}, "does not compile"),
    ({"pack": "p", "version": "1", "rules": [{"tag": "x"}]}, "give keywords, regex or count"),
    ({"pack": "p", "version": "1", "rules": [{"tag": "x", "keyword": ["a"]}]}, "unknown field(s) keyword"),
    ({"pack": "p", "version": "1", "rules": [{"tag": "x", "keywords": ["a"]}, {"tag": "x", "keywords": ["b"]}]},
     "duplicate rule id 'x'"),
    ({"pack": "p", "version": "1", "rules": [{"tag": "x", "count": {"keywords": ["a"], "at_least": 0,
                                                                     "within_days": 30}}]}, "at_least >= 1"),
])
def test_a_bad_pack_says_where_and_what(doc, message):
    with pytest.raises(RulePackError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_pack(doc)


def test_read_pack_reports_a_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        read_pack(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("pack: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        read_pack(bad)
