# Backorder Desk: one image for every role. `serve` (the default) is the bot, its web server and daily jobs;
# `deliver` sends the outbox; `db upgrade` migrates the schema. Settings come from the environment (README,
# "Configuration"); nothing secret is baked in.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY db ./db
RUN pip install . \
    && useradd --system --uid 10001 --no-create-home --home-dir /app backorder

USER backorder
# Listen on every interface inside the container; the reverse proxy in front is the only way in.
ENV WEB_HOST=0.0.0.0 \
    WEB_PORT=8080
EXPOSE 8080

# /healthz answers 200 while the database does. The slim image has no curl, so Python asks.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('WEB_PORT', '8080')}/healthz\", timeout=4)"]

ENTRYPOINT ["backorder-bot"]
CMD ["serve"]
