"""What the generated init-privileged reads of the pod is Kubernetes' own vocabulary."""

from __future__ import annotations

from kubernetes_validate.utils import schema_contents

from webhook.native.pod_facts import VOLUME_SOURCES


def test_the_volume_sources_are_those_of_the_newest_kubernetes() -> None:
    """A forbidden volume's type is named from this list (the webhook names the volume's only
    key but `name`): it holds every source a core/v1 Volume may have."""
    definitions = schema_contents(
        "kubernetes-json-schema/v1.36.0-local-strict/_definitions.json", "1.36"
    )
    volume = definitions["$defs"]["io.k8s.api.core.v1.Volume"]["properties"]
    assert sorted(VOLUME_SOURCES) == sorted(set(volume) - {"name"})
