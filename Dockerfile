# The image every Kubeflow V2 / Vertex AI task runs in: the official TFX 1.16 image plus this
# package, so Transform and the Trainer find models.preprocessing and models.run_fn by import path.
#   docker build -t REGION-docker.pkg.dev/PROJECT/REPO/fewlabels:VERSION .
#   fewlabels compile --image REGION-docker.pkg.dev/PROJECT/REPO/fewlabels:VERSION ...
# For GPU workers, a base with CUDA and cuDNN and the same TFX and TensorFlow, e.g. TFX's GPU
# tag where it is published for 1.16 (TFX published 1.15.0-gpu; not built or run here):
#   docker build --build-arg BASE_IMAGE=gcr.io/tfx-oss-public/tfx:1.16.0-gpu -t ...-gpu .
# then `fewlabels compile --accelerator-type NVIDIA_TESLA_T4 --accelerator-count 1
# --set training.precision=mixed_float16 ...`.
ARG BASE_IMAGE=gcr.io/tfx-oss-public/tfx:1.16.0
FROM ${BASE_IMAGE}
# pipeline/__init__.py TENSORFLOW_ENVIRONMENT: TFX imports TensorFlow before this package.
ENV TF_USE_LEGACY_KERAS=1 TF_ENABLE_ONEDNN_OPTS=1
WORKDIR /fewlabels
COPY setup.py README.md ./
COPY pipeline ./pipeline
COPY components ./components
COPY models ./models
COPY sources ./sources
# The base image already holds TFX and its pinned stack: install only this package.
RUN pip install --no-cache-dir --no-deps .
