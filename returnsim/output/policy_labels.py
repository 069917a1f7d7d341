"""What a policy is called where people read it: charts, the report's tables and its text.

A policy's id (``international_to_domestic_address``) is what a command line and a scenario file
use; a reader sees its label ("Foreign returns to a local hub"). A scenario may give each policy a
``label``; one it does not label reads as its id in words ("International to domestic address",
:func:`returnsim.scenario.policy.default_label`). One function answers for every output, so a
policy reads the same in a chart, a table and a sentence.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..scenario.policy import default_label, policy_labels

__all__ = ["policy_label", "policy_label_map"]


def policy_label(scenario: Any, policy_id: str) -> str:
    """The label of policy ``policy_id`` of ``scenario`` (a :class:`~returnsim.Scenario`): its
    own ``label``, else its id in words; a policy the scenario does not have (results read from
    a store of another version of the file) reads as its id in words."""
    return policy_label_map(scenario, [policy_id])[policy_id]


def policy_label_map(scenario: Any, policy_ids: Iterable[str]) -> dict[str, str]:
    """``{policy id: label}`` for ``policy_ids``, each as :func:`policy_label` gives it."""
    policies = getattr(scenario, "policies", None) or {}
    known = policy_labels(policies)
    return {p: known.get(p) or default_label(p) for p in policy_ids}
