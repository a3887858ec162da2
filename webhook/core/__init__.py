"""The engine core: what an admission request is, and what initgate decides about it.

`objects` (kinds, where the pod spec lives, what an UPDATE changes), `review` (the AdmissionReview
wire format), `config` and `configdoc` (the YAML configuration and its commented default), `plan`
(a configuration compiled for the request path), `engine` (`decide`: the one evaluation path of
the webhook, the audit and the CLI), `messages` (what people read), `handler` (a decision as an
admission response), `patch` (applying a JSON Patch as the API server does), `chain` (mutate, then
validate, as the API server chains the webhooks). No HTTP, no metrics, no cluster client.
"""
