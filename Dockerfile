# syntax=docker/dockerfile:1
# initgate: the admission webhook image. Build: docker build -t initgate .
# The same Python in both stages: the venv's interpreter is a symlink into the base image.
# BUILD_IMAGE and PYTHON_IMAGE can be replaced (the image check builds from local stand-ins).
ARG PYTHON_VERSION=3.11.14
ARG BUILD_IMAGE=python:${PYTHON_VERSION}-slim-bookworm
ARG PYTHON_IMAGE=python:${PYTHON_VERSION}-slim-bookworm

FROM ${BUILD_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# Dependencies first (cached while only the code changes): every file pinned by hash, wheels
# only, so nothing is compiled and nothing unpinned slips in. Two venvs without pip of their own:
# /opt/initgate, the runtime dependencies, which the image keeps; /opt/build, the build backend
# (setuptools, requirements-build.lock), which stays in this stage.
COPY requirements.lock requirements-build.lock ./
RUN python -m venv --without-pip /opt/initgate \
 && python -m venv --without-pip /opt/build \
 && python -m pip --python /opt/initgate/bin/python install --require-hashes \
      --only-binary=:all: --no-deps -r requirements.lock \
 && python -m pip --python /opt/build/bin/python install --require-hashes \
      --only-binary=:all: --no-deps -r requirements-build.lock
COPY pyproject.toml README.md* ./
COPY policies ./policies
COPY webhook ./webhook
# The project as a wheel, built by the build venv without build isolation (nothing is downloaded
# here), then installed into the runtime venv without dependencies: they are all in the lock.
RUN python -m pip --python /opt/build/bin/python \
      wheel --no-deps --no-build-isolation --wheel-dir /tmp/wheels . \
 && python -m pip --python /opt/initgate/bin/python install --no-deps /tmp/wheels/initgate-*.whl \
 && /opt/initgate/bin/python -m compileall -q /opt/initgate/lib \
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
# Only the venv comes over: no compiler, no build tools, no wheels, no pip cache.
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
