# syntax=docker/dockerfile:1
# Two images from one file (the wheel stage only builds edgekit itself):
#   docker build --target export -t edgekit:export .   # full stack: CPU torch, ONNX, OpenVINO/NNCF, TF + onnx2tf
#   docker build --target bench  -t edgekit:bench  .   # device side: numpy + runtimes, no torch, no tensorflow
#   docker run --rm -v "$PWD:/home/edgekit/work" edgekit:export export nano-det -t all -o out
#   docker run --rm -v "$PWD:/home/edgekit/work" edgekit:bench bench out/ort-int8
# edgekit runs under tini (an init as PID 1: signals are forwarded, children reaped); edgekit turns SIGTERM
# (`docker stop`) into a clean unwind.
# Versions come from pyproject.toml's extras; onnx2tf is pinned here as in edgekit.exporters.tflite_common.
ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS wheel
WORKDIR /src
COPY pyproject.toml README.md ./
COPY toolkit ./toolkit
COPY exporters ./exporters
COPY runtimes ./runtimes
COPY calibration_data ./calibration_data
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM ${PYTHON_IMAGE} AS export
ENV PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1 EDGEKIT_CACHE=/home/edgekit/.cache/edgekit
# PyTorch's CPU wheel index: without it torch==2.13.* resolves to a multi-GB CUDA build.
ARG PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu
RUN useradd --create-home --uid 10001 edgekit \
    && apt-get update && apt-get install -y --no-install-recommends tini && rm -rf /var/lib/apt/lists/*
COPY --from=wheel /wheels /wheels
# edgekit is installed from the wheel built above, by its path: never resolved against an index
RUN pip install "$(ls /wheels/edgekit_deploy-0.1.0-*.whl)[all]" \
    && pip install --no-deps onnx2tf==1.29.24
USER edgekit
WORKDIR /home/edgekit/work
ENTRYPOINT ["/usr/bin/tini", "--", "edgekit"]
CMD ["--help"]

FROM ${PYTHON_IMAGE} AS bench
ENV PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1 EDGEKIT_CACHE=/home/edgekit/.cache/edgekit
RUN useradd --create-home --uid 10001 edgekit \
    && apt-get update && apt-get install -y --no-install-recommends tini && rm -rf /var/lib/apt/lists/*
COPY --from=wheel /wheels /wheels
RUN pip install "$(ls /wheels/edgekit_deploy-0.1.0-*.whl)[ort,openvino,tflite]"
USER edgekit
WORKDIR /home/edgekit/work
ENTRYPOINT ["/usr/bin/tini", "--", "edgekit"]
CMD ["bench", "--help"]
