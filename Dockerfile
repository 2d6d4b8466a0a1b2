# Patchproof: one image for web, worker and beat.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# WeasyPrint needs Pango and HarfBuzz; DejaVu is the packet's font.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY manage.py ./
COPY portal ./portal
COPY evidence ./evidence
COPY templates ./templates
COPY static ./static

# Static files are collected at build time (hashed names, compressed) and served by whitenoise.
RUN STATIC_MANIFEST=1 SECRET_KEY=collectstatic-only PATCHPROOF_VAR_DIR=/app/var \
    python manage.py collectstatic --noinput \
    && useradd --system --uid 10001 --home /app patchproof \
    && mkdir -p /data/media \
    && chown -R patchproof /data /app/var

USER patchproof
ENV STATIC_MANIFEST=1 \
    PATCHPROOF_VAR_DIR=/app/var \
    MEDIA_ROOT=/data/media

EXPOSE 8000
CMD ["gunicorn", "portal.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
