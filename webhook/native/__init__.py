"""initgate's policies as Kubernetes' own admission policies: ValidatingAdmissionPolicies and
MutatingAdmissionPolicies (with their bindings) generated from one configuration, for the API
server to evaluate in process (docs/native-policies.md).

The webhook stays the reference: each built-in check is written in Python for the webhook and
generated here as CEL, and the test suite holds the two to the same verdicts (evaluating the
generated CEL in initgate's one CEL environment). Objects are plain dicts built by small
functions, one per kind (`builders`); what routes them to namespaces mirrors the chart's webhook
configurations (`bindings`); what reads the pod mirrors `webhook.core.objects` (`pods`); the data
flow between containers (`flow`) and the reading of scripts (`shellcode`) are shared by the
policies that need them; `export` puts it all together, and `notes` says what is left out.
"""
