# syntax=docker/dockerfile:1
# initgate: the admission webhook image. Build: docker build -t initgate .
# The same Python in both stages: the venv's interpreter is a symlink into the base image.
# BUILD_IMAGE and PYTHON_IMAGE can be replaced (the image check builds from local stand-ins).
# The build stage is the full image for its binutils (`strip`); the runtime stage is slim.
ARG PYTHON_VERSION=3.11.14
ARG BUILD_IMAGE=python:${PYTHON_VERSION}-bookworm
ARG PYTHON_IMAGE=python:${PYTHON_VERSION}-slim-bookworm

FROM ${BUILD_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHON=python
WORKDIR /src
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# scripts/runtime-env.sh builds /opt/initgate, the venv the image keeps, exactly as the test of
# the runtime environment builds it. Dependencies first (cached while only the code changes):
# every file pinned by hash, wheels only, so nothing is compiled and nothing unpinned slips in;
# less the asyncio half of the kubernetes client and the debug information of the extensions.
COPY requirements.lock requirements-build.lock requirements-sbom.lock ./
COPY scripts/runtime-env.sh ./scripts/
RUN scripts/runtime-env.sh deps /opt/initgate
COPY pyproject.toml README.md* ./
COPY policies ./policies
COPY webhook ./webhook
# The project as a wheel, built by the locked build backend in a venv of its own, installed
# without dependencies (they are all in the lock); then the SBOM of the whole venv, made by
# cyclonedx-py from its own venv. Neither tool reaches /opt/initgate.
RUN scripts/runtime-env.sh project /opt/initgate \
 && scripts/runtime-env.sh sbom /opt/initgate /opt/initgate/sbom.cdx.json \
 && /opt/initgate/bin/initgate version

FROM ${PYTHON_IMAGE}
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="initgate" \
      org.opencontainers.image.description="Kubernetes admission webhook that guards init containers" \
      org.opencontainers.image.source="https://github.com/initgate/initgate" \
      org.opencontainers.image.url="https://github.com/initgate/initgate" \
      org.opencontainers.image.documentation="https://github.com/initgate/initgate/tree/main/docs" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.vendor="initgate" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
# Only the venv comes over (with its SBOM, /opt/initgate/sbom.cdx.json): no compiler, no build
# tools, no wheels, no pip, no pip cache.
COPY --from=build /opt/initgate /opt/initgate
ENV PATH=/opt/initgate/bin:${PATH} \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
# 65532: the conventional "nonroot" UID; numeric, so runAsNonRoot can check it without a passwd
# entry. The chart runs with a read-only root filesystem and an in-memory /tmp.
USER 65532:65532
WORKDIR /tmp
EXPOSE 8443 9090
ENTRYPOINT ["initgate"]
CMD ["serve"]
