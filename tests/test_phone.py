"""Readable on a phone (issue 18, item 7): policies called by human labels, charts as inline SVG
whose text stays text and whose every text is drawn at the size that reads at 11 px on a phone.

The browser's own measurement of the report's charts is in tests/test_report.py; these are the
rules behind it, checked without a browser."""

from __future__ import annotations

import re

import matplotlib
import pytest
from conftest import SEED_SCENARIO

import returnsim as rs
from returnsim.output.policy_labels import policy_label, policy_label_map
from returnsim.scenario.policy import LABEL_MAX_LENGTH, default_label

matplotlib.use("Agg")


def _scenario(text: str, tmp_path):
    """The seed scenario with ``text`` appended (TOML), loaded."""
    path = tmp_path / "s.toml"
    path.write_text(f'extends = "{SEED_SCENARIO.as_posix()}"\n{text}', encoding="utf-8")
    return rs.load_scenario(path)


# --------------------------------------------------------------------------------------------
# labels


def test_default_label_is_the_id_in_words():
    assert default_label("international_to_domestic_address") == "International to domestic address"
    assert default_label("move_apparel_to_fba") == "Move apparel to FBA"
    assert default_label("giveaway-small") == "Giveaway small"
    assert default_label("fifo") == "FIFO"
    assert default_label("_") == "_"  # nothing to say in words: the id itself


def test_the_shipped_policies_have_labels_of_their_own():
    sc = rs.load_scenario(SEED_SCENARIO)
    labels = policy_label_map(sc, sc.policies)
    assert labels["giveaway_small"] == "Give away items under $25"
    # every policy labelled in the file, each differently, none longer than a chart allows
    assert all(p.label for p in sc.policies.values())
    assert len({t.casefold() for t in labels.values()}) == len(labels)
    assert max(map(len, labels.values())) <= LABEL_MAX_LENGTH


def test_a_label_is_not_inherited_through_extends(tmp_path):
    # free_returns extends seed: it must not read as seed does.
    sc = _scenario('[policies.fresh]\nextends = "seed"\n', tmp_path)
    assert sc.policies["seed"].label == "Offers first, freight by fault"
    assert sc.policies["fresh"].label is None
    assert policy_label(sc, "fresh") == "Fresh"
    assert policy_label(sc, "not_in_the_file") == "Not in the file"


def test_policies_that_would_read_alike_are_told_apart_by_their_ids(tmp_path):
    # a default another policy's label takes, and a policy copied with its label
    sc = _scenario('[policies.fresh]\nextends = "seed"\n[policies.other]\nextends = "seed"\nlabel = "FRESH"\n', tmp_path)
    assert policy_label(sc, "fresh") == "Fresh (fresh)" and policy_label(sc, "other") == "FRESH (other)"
    data = rs.load_scenario(SEED_SCENARIO).model_dump()
    data["policies"]["twin"] = data["policies"]["free_returns"]
    labels = policy_label_map(rs.Scenario.model_validate(data), ["free_returns", "twin", "seed"])
    assert labels == {"free_returns": "Free return labels (free_returns)", "twin": "Free return labels (twin)",
                      "seed": "Offers first, freight by fault"}


@pytest.mark.parametrize(
    ("label", "message"),
    [
        ('"   "', "must not be empty"),
        ('""', "must not be empty"),
        (f'"{"x" * (LABEL_MAX_LENGTH + 1)}"', f"at most {LABEL_MAX_LENGTH} characters"),
        ('"two\\nlines"', "control character U+000A"),
        ("3", "string"),
    ],
)
def test_bad_labels_are_refused_at_their_path(tmp_path, label, message):
    with pytest.raises(rs.ScenarioError) as err:
        _scenario(f"[policies.zz]\nextends = \"seed\"\nlabel = {label}\n", tmp_path)
    text = str(err.value)
    assert "policies.zz.label" in text and message in text, text


def test_a_label_is_trimmed(tmp_path):
    sc = _scenario('[policies.zz]\nextends = "seed"\nlabel = "  Padded  "\n', tmp_path)
    assert policy_label(sc, "zz") == "Padded"


# --------------------------------------------------------------------------------------------
# charts


def test_svg_keeps_text_as_text_with_ids_of_its_own():
    import matplotlib.pyplot as plt

    from returnsim.pages import svg

    def figure(name: str):
        fig, ax = plt.subplots(figsize=(3, 2))
        ax.barh([0, 1], [1, 2])
        ax.set_yticks([0, 1], [name, 'id="x" url(#p) <b>&'])
        return fig

    one, two = svg(figure("a")), svg(figure("b"))
    assert one.startswith("<svg ") and "<?xml" not in one and "<metadata" not in one
    assert re.search(r'<svg [^>]*viewBox="0 0 [\d.]+ [\d.]+"[^>]*>', one)
    assert "max-width:" in one.split(">", 1)[0]
    # text is text (a browser measures and searches it), escaped as XML
    assert '>id="x" url(#p) &lt;b&gt;&amp;</text>' in one and "<path" in one
    # ids differ between the two figures, and every reference points to an id of its own figure
    ids = [set(re.findall(r'\sid="([^"]+)"', s)) for s in (one, two)]
    assert ids[0] and not ids[0] & ids[1]
    for s, own in zip((one, two), ids, strict=True):
        tags = " ".join(re.findall(r"<[^<>]+>", s))  # references, not the text that reads like one
        refs = set(re.findall(r'url\(#([^)]+)\)|xlink:href="#([^"]+)"', tags))
        assert refs
        assert {r for pair in refs for r in pair if r} <= own
    # the same figure, the same markup (no date, no random ids)
    assert svg(figure("a")) == one


def test_every_text_of_the_report_charts_is_the_screen_size():
    """The rule the browser check measures: every text of every chart at FONT_PT, each chart at
    most WIDTH_IN wide as saved, so that on a phone's 350 px nothing is under 11 px."""
    import matplotlib.pyplot as plt
    from matplotlib.text import Text

    from returnsim.output import plots
    from returnsim.output.plots.screen import FONT_PT, MIN_TEXT_PX, PHONE_BOX_PX, WIDTH_IN

    assert FONT_PT * PHONE_BOX_PX / (WIDTH_IN * 72) >= MIN_TEXT_PX
    sc = rs.load_scenario(SEED_SCENARIO, overrides={"horizon_days": 10})
    policies = ["seed", "giveaway_small", "international_to_domestic_address"]
    res = rs.run_experiment(sc, policies, replications=2, seed=3, progress=False, workers=1)
    names = policy_label_map(sc, policies)
    with plots.screen():
        figures = [
            plots.value_chart(res.summary(), "policy_profit_per_order", names, highlight="seed"),
            plots.differences_chart(res.compare("seed"), ["policy_profit_per_order", "rdr"], names),
            plots.cost_chart(plots.mean_runs(res.runs, policies), names),
        ]
        for fig in figures:
            fig.canvas.draw()
            shown = [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
            assert shown and min(t.get_fontsize() for t in shown) >= FONT_PT
            assert fig.get_tightbbox().width + 0.2 <= WIDTH_IN
            ticks = [t.get_text() for ax in fig.axes for t in ax.get_yticklabels()]
            # labels, not ids, wrapped onto lines a third of the chart wide
            assert any(t.startswith("Give away items\n") for t in ticks) and not any("giveaway_small" in t for t in ticks)
            assert all(len(line) <= 26 for t in ticks for line in t.splitlines())
            plt.close(fig)
