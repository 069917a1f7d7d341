"""Readable on a phone (issue 18, item 7): policies called by human labels, charts as inline SVG
whose text stays text and whose every text is drawn at the size that reads at 11 px on a phone.

The browser's own measurement of the report's charts is in tests/test_report.py; these are the
rules behind it, checked without a browser."""

from __future__ import annotations

import pytest
from conftest import SEED_SCENARIO

import returnsim as rs
from returnsim.output.policy_labels import policy_label, policy_label_map
from returnsim.scenario.policy import LABEL_MAX_LENGTH, default_label


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


def test_a_default_that_another_label_takes_falls_back_to_the_id(tmp_path):
    sc = _scenario('[policies.fresh]\nextends = "seed"\n[policies.other]\nextends = "seed"\nlabel = "fresh"\n', tmp_path)
    assert policy_label(sc, "other") == "fresh" and policy_label(sc, "fresh") == "fresh"  # the id
    assert policy_label_map(sc, ["fresh"]) == {"fresh": "fresh"}


@pytest.mark.parametrize(
    ("label", "message"),
    [
        ('"   "', "must not be empty"),
        ('""', "must not be empty"),
        (f'"{"x" * (LABEL_MAX_LENGTH + 1)}"', f"at most {LABEL_MAX_LENGTH} characters"),
        ('"two\\nlines"', "control character U+000A"),
        ("3", "string"),
        ('"Free return labels"', "policy 'free_returns' has this label already"),
        ('"free RETURN labels"', "policy 'free_returns' has this label already"),
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
