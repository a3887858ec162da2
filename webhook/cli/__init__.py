"""The `initgate` command line: `main` (the parser and the small commands), `auditing` (the `audit`
and `mutate` commands), `selfcheck` (one AdmissionReview round trip, the `helm test`)."""
