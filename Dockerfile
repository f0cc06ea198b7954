# Tenken: one image for the API and the workers (the command chooses the role).
#   docker build -t tenken .                                  # CPU: ONNX Runtime / OpenVINO inference
#   docker build -t tenken-gpu --build-arg EXTRAS=server,gpu .     # + torch (CUDA build): TENKEN_DEVICE=cuda
# The GPU image needs only the host's NVIDIA driver (nvidia-container-toolkit): torch's wheels bring
# the CUDA runtime and cuDNN. Check a GPU container with `tenken status --local` (non-zero without a GPU);
# its compose healthcheck, `python -m worker.healthcheck`, reads what the worker found at start instead.
# Nothing is downloaded at run time: models ship in models/ (ONNX), inside the image.
FROM python:3.11-slim-bookworm

ARG EXTRAS=server
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    YOLO_OFFLINE=1 \
    YOLO_AUTOINSTALL=false \
    TENKEN_DATA_DIR=/data

# ffmpeg's libraries come inside the opencv wheel; curl only serves the healthchecks.
RUN apt-get update \
    && apt-get install -y --no-install-recommends curl \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 1000 tenken
WORKDIR /app
COPY pyproject.toml README.md ./
COPY tenken ./tenken
COPY vision ./vision
COPY worker ./worker
COPY api ./api
COPY drone ./drone
COPY models ./models
RUN pip install --no-cache-dir ".[${EXTRAS}]" \
    && mkdir -p /data /media && chown tenken:tenken /data /media

USER tenken
# Only the ONNX files are committed: build the OpenVINO (and .pt) weights into the image's cache now
RUN tenken models prepare
VOLUME ["/data", "/media"]
EXPOSE 8600
CMD ["tenken", "serve", "--host", "0.0.0.0"]
