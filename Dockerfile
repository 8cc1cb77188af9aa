# Trellis server image.   Build: docker build -t trellis .   Run: docker run -p 8000:8000 trellis
# Three stages: GraphiQL's browser assets (node), the wheel and its dependencies in a virtualenv (pip), and
# the image that runs: python:3.11-slim with that virtualenv, git and ssh for imports from Git, nothing else.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG NODE_IMAGE=node:20-bookworm-slim

# --- 1. GraphiQL's assets from the pinned, locked npm packages (served by the app: no CDN) -------------
FROM ${NODE_IMAGE} AS graphiql
# scripts/build-graphiql is a standard-library Python script.
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY web/graphiql/package.json web/graphiql/package-lock.json web/graphiql/.npmrc web/graphiql/
COPY scripts/build-graphiql scripts/build-graphiql
RUN python3 scripts/build-graphiql --force

# --- 2. The wheel (package data: GraphiQL, compose spec, SDL; data files: templates/) and its deps -----
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY app/ app/
COPY schema/ schema/
COPY templates/ templates/
COPY --from=graphiql /src/app/http/static/graphiql/ app/http/static/graphiql/
RUN python -m pip wheel --no-deps --wheel-dir /dist . \
    && python -m venv /opt/trellis \
    && /opt/trellis/bin/pip install /dist/trellis-*.whl \
    && /opt/trellis/bin/pip uninstall -y pip setuptools

# --- 3. The server ------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/opt/trellis/bin:$PATH \
    TRELLIS_HOST=0.0.0.0 TRELLIS_PORT=8000 TRELLIS_DATA_DIR=/var/lib/trellis
# git (with ssh for ssh:// repositories, CA certificates for https://) clones repositories for imports
# from Git. The base image's own pip and setuptools go: nothing is built or installed at run time.
RUN apt-get update \
    && apt-get install -y --no-install-recommends git openssh-client ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && python -m pip uninstall -y pip setuptools wheel \
    && groupadd --system --gid 10001 trellis \
    && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/trellis --create-home trellis
COPY --from=build /opt/trellis /opt/trellis
WORKDIR /var/lib/trellis
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; port = os.environ.get('TRELLIS_PORT', '8000'); sys.exit(urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=2).status != 200)"]
ENTRYPOINT ["trellis"]
CMD ["serve"]
