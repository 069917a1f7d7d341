"""Independent oracles: expectations the simulation must agree with, derived from the documented
rules (docs/model.md) without calling the model's decision, money or queueing code, so that a bug
in either side shows up as a disagreement. Test code, not part of returnsim's API."""
