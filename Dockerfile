# The app tier: gunicorn serving Django, static files from the image
# (whitenoise), images in the bucket. See docker-compose.yml.
FROM python:3.11-slim

# Static files are built into the image and served by the app (whitenoise),
# in S3 mode too; a deployment that sets DJANGO_STATIC_IN_BUCKET=true (and
# runs collectstatic against the bucket) serves them from the bucket instead.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_STATIC_IN_BUCKET=false

WORKDIR /app

# The versions the test suite passed with (constraints.txt, see `make lock`).
COPY requirements.txt constraints.txt ./
RUN pip install -r requirements.txt -c constraints.txt

COPY . .
# No settings of the deployment are needed to build the static files.
RUN DJANGO_SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput \
    && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin app

USER app
EXPOSE 8000

HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

CMD ["gunicorn", "project.wsgi", "--config", "gunicorn.conf.py"]
