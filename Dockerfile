FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
# A CJK font for the reports' chart in Chinese (matplotlib finds it through fontconfig); 5 MB.
RUN apt-get update && apt-get install -y --no-install-recommends fonts-wqy-microhei \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY iscg_bot ./iscg_bot
COPY commands ./commands
COPY storage ./storage
RUN pip install ".[postgresql]" && useradd --create-home --uid 10001 iscg && mkdir -p /data && chown iscg /data

USER iscg
# State lives in the /data volume: the SQLite database (data/iscg-bot.db) and the crypto store
# (data/crypto-store). The bot runs in / so that these relative defaults, and the example config's, land in
# /data rather than /data/data. A config file is optional: mount it at /config.toml (read as ./config.toml)
# or name it with ISCG_CONFIG; the required settings can all be ISCG_* variables instead.
VOLUME /data
WORKDIR /
# Inside a container the web server must listen on every interface to be reached through a published port.
ENV ISCG_WEB_LISTEN_HOST=0.0.0.0
EXPOSE 8080
# /healthz answers 200 while the sync loop is alive. No curl in the slim image: Python's urllib (an HTTP
# error such as 503 raises, and the check fails). A changed port must be given as ISCG_WEB_LISTEN_PORT.
HEALTHCHECK --interval=30s --timeout=10s --start-period=90s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('ISCG_WEB_LISTEN_PORT', '8080'), timeout=8)"]
# Migrations run on every start (a no-op when the schema is current), so an empty /data just works.
CMD ["iscg-bot", "run", "--migrate"]
