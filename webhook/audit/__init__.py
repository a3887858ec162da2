"""Auditing what already runs and what is about to be applied, through the webhook's own engine.

- `manifests`: reading files, directories and standard input (multi-document YAML, JSON, Lists).
- `evaluate`: one object through `webhook.core.engine.decide`, chained as the API server chains the
  webhooks; workloads also through the pod their controller would create (patches applied with
  `webhook.core.patch`).
- `report`, `sarif`: the table, JSON and SARIF outputs, and the exit status.
- `offline`: auditing manifests, and `mutate`: the manifests as the mutating webhook leaves them.
- `cluster`: a paginated scan with the official `kubernetes` client (imported only for `--cluster`);
  `routing`: which namespaces the webhook configurations send, in which mode.
- `continuous`, `policyreports`: the in-cluster loop, its gauges and `PolicyReport` objects.
- `commands`, `options`, `duration`: the `audit` and `mutate` commands behind `webhook.cli`.
- `splice`: `mutate`'s changes written into the user's own text (what `--diff` and `--in-place`
  show and write); `readinessplan` and `readiness`: `--readiness`, the per-namespace path to
  enforce, and its table; `live`: routing by the live webhook configurations; `network` and
  `kubeconfig`: failures to reach a server or load a kubeconfig, said as their cause.
- `testfile`, `testcases`, `expectations`, `fieldpaths`: `initgate test`: test files read and
  resolved, their objects judged as `review` judges them, each result compared with the one
  expected (docs/test.md).
"""
