# intake in a slim Python 3.11 image with tesseract, run as a non-root user.
#   docker build -t intake .
#   docker run -v $PWD/intake.toml:/config/intake.toml:ro -v intake-data:/data intake
#   docker run ... -p 127.0.0.1:8765:8765 intake review serve --host 0.0.0.0   # review web UI
FROM python:3.11-slim

RUN apt-get update \
 && apt-get install -y --no-install-recommends tesseract-ocr tesseract-ocr-eng \
 && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 10001 intake \
 && mkdir -p /data /config \
 && chown intake:intake /data

WORKDIR /app
COPY pyproject.toml README.md ./
COPY intake ./intake
COPY prompts ./prompts
COPY schemas ./schemas
COPY fixtures ./fixtures
RUN pip install --no-cache-dir -e '.[postgres]'

USER intake
WORKDIR /data
ENV INTAKE_CONFIG=/config/intake.toml \
    INTAKE_STORE__URL=sqlite:////data/intake.db \
    PYTHONUNBUFFERED=1
# SIGTERM (docker stop) lets the current message finish, then intake exits 0.
STOPSIGNAL SIGTERM
EXPOSE 8765
ENTRYPOINT ["intake"]
CMD ["run"]
