# The app tier: gunicorn serving Django, static files from the image
# (whitenoise), images in the bucket. See docker-compose.yml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# The versions the test suite passed with (constraints.txt, see `make lock`).
COPY requirements.txt constraints.txt ./
RUN pip install -r requirements.txt -c constraints.txt

COPY . .
# Static files are built into the image and served by the app; no settings
# of the deployment are needed for that.
RUN DJANGO_SECRET_KEY=collectstatic-only DJANGO_STATIC_IN_BUCKET=false \
        python manage.py collectstatic --noinput \
    && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin app

USER app
EXPOSE 8000

HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

CMD ["gunicorn", "project.wsgi", "--config", "gunicorn.conf.py"]
