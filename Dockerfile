# Trellis server image. Build: docker build -t trellis .   Run: docker run -p 8000:8000 trellis
FROM node:20-bookworm-slim AS graphiql
WORKDIR /src
COPY web/graphiql/ web/graphiql/
COPY scripts/build-graphiql scripts/build-graphiql
RUN mkdir -p app/http && scripts/build-graphiql

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    TRELLIS_HOST=0.0.0.0 TRELLIS_PORT=8000 TRELLIS_DATA_DIR=/var/lib/trellis
WORKDIR /srv/trellis
# git (with ssh for ssh:// repositories) clones repositories for imports from Git.
RUN apt-get update \
    && apt-get install -y --no-install-recommends git openssh-client ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md ./
COPY app/ app/
COPY schema/ schema/
COPY templates/ templates/
COPY --from=graphiql /src/app/http/static/graphiql/ app/http/static/graphiql/
RUN pip install --no-cache-dir . \
    && useradd --system --uid 10001 --home-dir /var/lib/trellis --create-home trellis
USER trellis
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz').status != 200)"
CMD ["trellis", "serve"]
