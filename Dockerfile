# The logduct command in a container: `docker build -t logduct .`, then `docker run logduct --help`.
FROM python:3.12-slim
WORKDIR /src
COPY pyproject.toml README.md SPEC.md LICENSE ./
COPY reference ./reference
COPY conformance ./conformance
COPY sql ./sql
RUN pip install --no-cache-dir . \
 && useradd --create-home --uid 10001 logduct \
 && mkdir -p /run/logduct && chown logduct /run/logduct && chmod 0700 /run/logduct
USER logduct
ENTRYPOINT ["logduct"]
CMD ["--help"]
