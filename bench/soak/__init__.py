"""The randomized soak (issue 21): deployments under random combinations of faults, checked against
stated invariants after every one. ``python -m bench.soak`` (or ``scripts/soak``); see
docs/reliability.md, "Randomized soak"."""
