# posture-monitor daemon image: nmap for the ports check, runs as an unprivileged user.
FROM python:3.11-slim-bookworm
RUN apt-get update \
    && apt-get install -y --no-install-recommends nmap \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md LICENSE ./
COPY monitor ./monitor
COPY checks ./checks
RUN pip install --no-cache-dir . && useradd --system --uid 10001 --home /var/lib/posture posture \
    && mkdir -p /var/lib/posture && chown posture /var/lib/posture
USER posture
WORKDIR /var/lib/posture
ENV POSTURE_HTTP_ADDR=0.0.0.0:8080
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4).status != 200)"
ENTRYPOINT ["posture"]
CMD ["run"]
