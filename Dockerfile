# One image for the three services: `handinhand serve <service>` picks which one runs.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 HANDINHAND_HOST=0.0.0.0
WORKDIR /app

# The runtime lock only: no test or lint tools in the image (docs/dependencies.md)
COPY requirements.lock pyproject.toml README.md ./
RUN pip install --no-cache-dir -r requirements.lock

COPY shared ./shared
COPY services ./services
COPY migrations ./migrations
COPY bench ./bench
RUN pip install --no-cache-dir --no-deps . && useradd --system --uid 10001 handinhand

USER handinhand
EXPOSE 8001 8002 8003
ENTRYPOINT ["handinhand"]
CMD ["serve", "scheduler"]
