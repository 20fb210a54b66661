# syntax=docker/dockerfile:1
# streamer service image: `docker build -t streamer .`
# Run: docker run --rm streamer run --role prepare   (see docker-compose.yml)

FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# The build context is filtered by .dockerignore (no .venv, .git, tests, caches).
COPY . .
# Core package only: the optional `broker` extra is not installed in the image.
RUN pip install --no-cache-dir .

FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
RUN groupadd --system --gid 10001 streamer \
    && useradd --system --uid 10001 --gid streamer --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin streamer
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY --chown=root:root config/ /app/config/
USER 10001:10001
EXPOSE 9108
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('STREAMER_METRICS__PORT', '9108'), timeout=3)"]
ENTRYPOINT ["streamer"]
CMD ["run"]
