FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY iscg_bot ./iscg_bot
COPY commands ./commands
COPY storage ./storage
RUN pip install . && useradd --create-home --uid 10001 iscg && mkdir -p /data && chown iscg /data

USER iscg
WORKDIR /data
# Mount the configuration at /data/config.toml (or use ISCG_* variables); state lives in /data.
ENV ISCG_CONFIG=/data/config.toml
CMD ["iscg-bot", "run"]
