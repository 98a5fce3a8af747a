# intern-match service image: the locked dependencies, then the project itself.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    INTERN_MATCH_DATA_DIR=/data

RUN pip install --no-cache-dir "uv==0.13.9" \
    && useradd --create-home --uid 10001 intern-match \
    && mkdir -p /data && chown intern-match /data

WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY contracts ./contracts
COPY matching ./matching
COPY services ./services
RUN uv sync --frozen --no-dev

USER 10001
ENV PATH="/app/.venv/bin:${PATH}"
EXPOSE 8080
ENTRYPOINT ["intern-match"]
CMD ["serve"]
