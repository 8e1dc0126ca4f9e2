# Build the release binary in one stage, run it from a slim image.
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY assets ./assets
COPY benches ./benches
RUN cargo build --release --locked --bin nightingale

FROM debian:bookworm-slim
# Nothing to install: SQLite is built in, and so are the TLS roots (rustls
# with webpki-roots), so the image needs no OpenSSL and no CA bundle.
RUN useradd --system --home /var/lib/nightingale --create-home nightingale
COPY --from=build /src/target/release/nightingale /usr/local/bin/nightingale
COPY rota /etc/nightingale/rota
COPY templates /etc/nightingale/templates
WORKDIR /var/lib/nightingale
VOLUME /var/lib/nightingale
USER nightingale
# Set NIGHTINGALE_PUBLIC_URL and the NIGHTINGALE_TWILIO_* settings when
# running; without Twilio settings nothing is sent (see README.md).
ENV NIGHTINGALE_LISTEN=0.0.0.0:8080 \
    NIGHTINGALE_ROTA_DIR=/etc/nightingale/rota \
    NIGHTINGALE_TEMPLATES_DIR=/etc/nightingale/templates \
    NIGHTINGALE_STORE=sqlite:///var/lib/nightingale/nightingale.db
EXPOSE 8080
# serve loads the rota before listening: a broken file stops the container with its file:line message.
CMD ["nightingale", "serve"]
