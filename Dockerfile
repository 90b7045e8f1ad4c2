# syntax=docker/dockerfile:1
# Two images from one file:
#   docker build --target export -t edgekit:export .   # full stack: CPU torch, onnx, onnxsim, onnxruntime
#   docker build --target bench  -t edgekit:bench  .   # device side: numpy + onnxruntime, no torch
ARG PYTHON=3.11

FROM python:${PYTHON}-slim AS base
ENV PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1 EDGEKIT_CACHE=/home/edgekit/.cache/edgekit
RUN useradd --create-home --uid 10001 edgekit
WORKDIR /opt/edgekit
COPY pyproject.toml README.md ./
COPY toolkit ./toolkit
COPY exporters ./exporters
COPY runtimes ./runtimes
COPY calibration_data ./calibration_data

FROM base AS export
# Point PIP_EXTRA_INDEX_URL at PyTorch's CPU wheel index, or torch==2.13.* resolves to a multi-GB CUDA build.
ARG PIP_EXTRA_INDEX_URL=""
RUN pip install ".[all]"
USER edgekit
ENTRYPOINT ["edgekit"]

FROM base AS bench
RUN pip install ".[ort]"
USER edgekit
ENTRYPOINT ["edgekit"]
